//! `quorate maintenance off`: arguments → [`OffOptions`] → [`switch::off`].

use quorate::maintenance::switch::{self, OffOptions};

use crate::cli::MaintenanceOffArgs;

pub(super) fn run(a: MaintenanceOffArgs) -> anyhow::Result<i32> {
    let (settings, node) = super::load(&a.common)?;
    let options = OffOptions {
        node: super::required_node(&settings, node)?,
        auth: super::auth(&a.credentials, &settings)?,
        timeout: a.timeout,
    };
    let outcome = super::runtime()?.block_on(switch::off(&settings, &options))?;
    super::print_outcome(&outcome);
    Ok(quorate::error::exit::OK)
}
