//! Client tier: the SCIM client against the in-process Zoom emulator's real-time rate limits
//! and faults (429s with each Retry-After style, the legacy 1 request/s limit, 5xx, drops,
//! timeouts, the retry budgets). Hermetic like `tests/hermetic` — no server outside this
//! process — but paced by the limits it tests (about 15 s), so it is a binary of its own and
//! the hermetic tier stays a few seconds. `cargo test --test client`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod scim_client_faults;
