//! `quorate maintenance on`: arguments → [`OnOptions`] → [`switch::on`].

use quorate::maintenance::switch::{self, OnOptions};

use crate::cli::MaintenanceOnArgs;

pub(super) fn run(a: MaintenanceOnArgs) -> anyhow::Result<i32> {
    let (settings, node) = super::load(&a.common)?;
    let options = OnOptions {
        node: super::required_node(&settings, node)?,
        duration: a.duration,
        reason: a.reason.clone(),
        desync: a.desync,
        by: super::login_name(),
        auth: super::auth(&a.credentials, &settings)?,
        timeout: a.timeout,
    };
    let outcome = super::runtime()?.block_on(switch::on(&settings, &options))?;
    super::print_outcome(&outcome);
    Ok(quorate::error::exit::OK)
}
