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
    BROWSER_STATE_PREFIX, CallbackParams, ConnectError, ConnectFlow, ConnectPorts, ConnectSettings,
    ConnectStart, Connected, InstagramConnect, is_browser_state,
};
pub use error::{PostFlowError, publishing_in_progress};
pub use flow::{Click, EditRequest, FlowPorts, FlowSettings, PostFlow, PostView};
pub use generate::{GenerationSettled, IDEMPOTENCY_WINDOW, MAX_GENERATION_ATTEMPTS, Parts};
