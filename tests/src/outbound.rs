//! A second emulator for what the functions send (SNS, SES), apart from the one that holds the
//! tables. moto's outbox (`/moto-api/data.json`) is a dump of everything the emulator holds,
//! which takes seconds per thousand items stored and minutes for a community of thousands; on
//! an emulator that holds no table it stays quick whatever the size of the community. For the
//! tests that fan out to hundreds or thousands (crash, soak).

use aws_config::SdkConfig;
use infra::moto::Moto;
use infra::outbox::Outbox;

use crate::{SENDER_EMAIL, Stack};

/// The emulator the functions send through.
pub struct Outbound {
    pub moto: Moto,
    pub sdk: SdkConfig,
}

impl Outbound {
    /// A fresh emulator with the SES sender identity.
    pub async fn start() -> Outbound {
        let moto = Moto::start().expect("moto starts (make venv installs it)");
        let sdk = moto.sdk_config().await;
        infra::stack::create_sender_identity(&aws_sdk_sesv2::Client::new(&sdk), SENDER_EMAIL)
            .await
            .expect("SES identity");
        Outbound { moto, sdk }
    }

    /// Everything sent through it so far.
    pub async fn outbox(&self) -> Outbox {
        self.moto.outbox().await.expect("outbox")
    }
}

impl Stack {
    /// Makes the functions' SNS and SES calls go, once checked, where `sdk` points (an
    /// [`Outbound`] emulator, or a proxy in front of it); their DynamoDB calls stay where they
    /// were.
    pub fn send_through(&mut self, sdk: &SdkConfig) {
        self.routing.sends = sdk.endpoint_url().expect("an SDK configuration with an endpoint").to_owned();
        self.rebuild_functions();
    }
}
