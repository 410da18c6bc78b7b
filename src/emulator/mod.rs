//! A faithful local Zoom SCIM emulator (see issue "A faithful local Zoom SCIM emulator").
//! Placeholder until that work lands: `zoomsync emulate` reports it is not built yet.

/// Command-line arguments of `zoomsync emulate`.
#[derive(Debug, clap::Args)]
pub struct EmulateArgs {
    /// Address to listen on; loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1:9780")]
    pub listen: std::net::SocketAddr,
}

/// Runs the emulator until Ctrl-C / SIGTERM.
pub async fn run(_args: EmulateArgs) -> Result<(), String> {
    Err("the emulator is not built yet".to_string())
}
