//! A package's checksum in apk's text forms, read back to its bytes: `Q1` and base64 of a
//! SHA-1 (`C:` in the installed database, the key of a triggers line, apk 2's script names) or
//! `X1` and hex (apk 3's script names); `2` instead of `1` marks a SHA-256. The same package
//! reads as the same bytes in either form.

/// The digest bytes of `text` (`Q1...`, `Q2...`, `X1...`, `X2...`); `None` for anything else.
pub fn decode(text: &[u8]) -> Option<Vec<u8>> {
    match text {
        [b'Q', b'1' | b'2', rest @ ..] => base64(rest),
        [b'X', b'1' | b'2', rest @ ..] => hex(rest),
        _ => None,
    }
}

fn base64(text: &[u8]) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(4) {
        return None;
    }
    let body = text
        .strip_suffix(b"==")
        .or(text.strip_suffix(b"="))
        .unwrap_or(text);
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc = 0u32;
    for (i, &c) in body.iter().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        if i % 4 == 3 {
            out.extend_from_slice(&acc.to_be_bytes()[1..]);
            acc = 0;
        }
    }
    match body.len() % 4 {
        0 => {}
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&((acc >> 2) as u16).to_be_bytes()),
        _ => return None,
    }
    Some(out)
}

fn hex(text: &[u8]) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(text.len() / 2);
    for p in text.chunks(2) {
        out.push((digit(p[0])? * 16 + digit(p[1])?) as u8);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_of_a_package_checksum_read_as_the_same_bytes() {
        // busybox 1.37.0-r30 in the 3.23.3 image: `C:` and its scripts' names.
        let q = decode(b"Q18TR4AbuWsapA0X+CI3w/T/AqRyU=").unwrap();
        let x = decode(b"X1f1347801bb96b1aa40d17f82237c3f4ff02a4725").unwrap();
        assert_eq!(q.len(), 20);
        assert_eq!(q, x);
        assert_eq!(decode(b"Q1TWFu"), Some(b"Man".to_vec()));
        assert_eq!(decode(b"Q1TWE="), Some(b"Ma".to_vec()));
        assert_eq!(decode(b"Q1TQ=="), Some(b"M".to_vec()));
        assert_eq!(decode(b"X2ff00"), Some(vec![0xff, 0]));
    }

    #[test]
    fn anything_else_is_not_a_checksum() {
        for text in [
            &b""[..],
            b"Q1",
            b"Q3TWFu",
            b"Z1TWFu",
            b"Q1TWF",
            b"Q1TW*u",
            b"Q1T===",
            b"X1abc",
            b"X1zz",
            b"1.36.1-r29",
        ] {
            assert_eq!(decode(text), None, "{}", String::from_utf8_lossy(text));
        }
    }
}
