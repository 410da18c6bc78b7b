//! Admin commands shared by the CLI and the daemon: rendering (`render`) and the local
//! socket protocol (`socket`) the CLI uses while the daemon holds the state store.

pub mod render;
pub mod socket;
