//! The credentials of the Galera checks: the configured account with the command line's and the
//! environment's overrides, resolved by [`quorate::config::CredentialOverrides`].

use quorate::config::{CredentialOverrides, MysqlAuth};

use crate::cli::MysqlCredentialArgs;

/// Environment variable holding the monitoring password (for Icinga 2's `env`, systemd
/// credentials and the like): never a command-line option.
pub const PASSWORD_ENV: &str = "QUORATE_MYSQL_PASSWORD";

/// Credentials: --defaults-file or --password-file, else $QUORATE_MYSQL_PASSWORD, else the
/// configuration; --user (or the defaults file's user) over the configured user.
pub(crate) fn resolve_auth(
    common: &MysqlCredentialArgs,
    configured: Option<&MysqlAuth>,
) -> Result<MysqlAuth, String> {
    CredentialOverrides {
        password: std::env::var(PASSWORD_ENV).ok(),
        defaults_file: common.defaults_file.as_deref(),
        password_file: common.password_file.as_deref(),
        user: common.user.as_deref(),
    }
    .apply(configured)
    .map_err(|e| e.to_string())
}
