//! The consent-gated post flow and the Instagram connection, as services the routes call.
//!
//! - [`PostFlow`]: generate, preview, edit, the Publish click, withdraw, delete (P09, P16,
//!   P29); its failures are [`PostFlowError`].
//! - [`InstagramConnect`]: Facebook Login, connections and their sealed tokens (P03, P08,
//!   P10, P15); its failures are [`ConnectError`].
//!
//! Each service holds the ports it uses and speaks its own error; the routes parse requests
//! into domain types before calling them, and `From<…> for ApiError` is the one place each
//! error meets HTTP.

pub mod connect;
mod error;
pub mod flow;
pub mod generate;

pub use connect::{
    CallbackParams, ConnectError, ConnectFlow, ConnectPorts, ConnectSettings, Connected,
    InstagramConnect, is_browser_state,
};
#[cfg(any(test, feature = "testing"))]
pub use connect::{BROWSER_STATE_PREFIX, ConnectStart};
pub use error::PostFlowError;
#[cfg(any(test, feature = "testing"))]
pub use error::publishing_in_progress;
pub use flow::{Click, EditRequest, FlowPorts, FlowSettings, PostFlow, PostView};
#[cfg(any(test, feature = "testing"))]
pub use generate::MAX_GENERATION_ATTEMPTS;
pub use generate::{GenerationSettled, IDEMPOTENCY_WINDOW, Parts};
