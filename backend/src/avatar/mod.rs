//! Avatars: validation, cropping and re-encoding of profile pictures
//! (`process`), their storage (`store`) and the operations on them (`service`).
pub mod process;
pub mod service;
pub mod store;
