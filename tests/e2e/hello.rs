// A stand-in application for the container tests: prints its name and what it can see.
fn main() {
    let name = std::env::args().next().unwrap_or_default();
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(str::to_owned))
        .unwrap_or_default();
    println!("hello from {name}; {uid}");
}
