//! Stage 5, "Negotiate the version".

use crate::check::check;
use crate::{Failure, Needs, Target};

use super::helpers::{Handshake, WANT_426, ask, expect_426};
use super::{VERSION, VERSION_SECTION};

check!(Check {
    name: an_unsupported_version_gets_426_with_version_13,
    stage: VERSION,
    section: VERSION_SECTION,
    hints: &[
        "Any Sec-WebSocket-Version other than 13 gets `426 Upgrade Required` with \
         `Sec-WebSocket-Version: 13`: the version this server speaks, so the client can retry.",
        "RFC 9110: a 426 MUST carry `Upgrade` (here `Upgrade: websocket`), and whoever sends \
         `Upgrade` also sends `Connection: Upgrade`.",
    ],
    needs: Needs::Address,
});
async fn an_unsupported_version_gets_426_with_version_13(t: Target) -> Result<(), Failure> {
    for version in ["8", "25", "12"] {
        let (client, head) =
            ask(&t, &Handshake::seed().set("Sec-WebSocket-Version", version), WANT_426).await?;
        expect_426(&client, &head, true, &format!("a handshake with Sec-WebSocket-Version: {version}"))?;
    }
    Ok(())
}

check!(Check {
    name: a_missing_version_gets_426_with_version_13,
    stage: VERSION,
    section: VERSION_SECTION,
    hints: &["No Sec-WebSocket-Version at all is not version 13: answer it like any version you don't \
              speak, 426 with `Sec-WebSocket-Version: 13`."],
    needs: Needs::Address,
});
async fn a_missing_version_gets_426_with_version_13(t: Target) -> Result<(), Failure> {
    let (client, head) = ask(&t, &Handshake::seed().without("Sec-WebSocket-Version"), WANT_426).await?;
    expect_426(&client, &head, true, "a handshake without Sec-WebSocket-Version")
}
