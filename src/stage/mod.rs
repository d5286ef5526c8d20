//! The pipeline's stages, in order: [`scan`] lists the bin folders, [`discover`] finds busybox
//! and apk in them, [`plan`] decides every removal, [`apply`] carries the plan out, [`audit`]
//! says what keeps the root from being distroless, [`start`] whether its programs will still
//! start.

pub mod apply;
pub mod audit;
pub mod discover;
pub mod finding;
pub mod plan;
pub mod scan;
pub mod start;
pub mod survey;
