//! [`SandboxGuard`]: tears a sandbox down when dropped, for tests.

use super::{Sandbox, SandboxError};

/// Guard for tests: tears the sandbox down when dropped, so a failing (panicking) test leaves no
/// process and no directory behind.
#[derive(Debug)]
pub struct SandboxGuard(Option<Sandbox>);

impl SandboxGuard {
    pub fn new(sandbox: Sandbox) -> SandboxGuard {
        SandboxGuard(Some(sandbox))
    }

    /// Tears down now and reports errors (Drop can only log them).
    pub fn down(mut self) -> Result<(), SandboxError> {
        match self.0.take() {
            Some(sandbox) => sandbox.down(),
            None => Ok(()),
        }
    }

    /// Takes the sandbox back out: it will no longer be torn down automatically.
    pub fn into_inner(mut self) -> Option<Sandbox> {
        self.0.take()
    }
}

impl From<Sandbox> for SandboxGuard {
    fn from(sandbox: Sandbox) -> SandboxGuard {
        SandboxGuard::new(sandbox)
    }
}

impl std::ops::Deref for SandboxGuard {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        // Only down/into_inner empty it, and both consume the guard.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("SandboxGuard emptied only by consuming methods"))
    }
}

impl std::ops::DerefMut for SandboxGuard {
    fn deref_mut(&mut self) -> &mut Sandbox {
        self.0
            .as_mut()
            .unwrap_or_else(|| unreachable!("SandboxGuard emptied only by consuming methods"))
    }
}

impl Drop for SandboxGuard {
    fn drop(&mut self) {
        if let Some(sandbox) = self.0.take() {
            let dir = sandbox.dir.clone();
            if let Err(e) = sandbox.down() {
                eprintln!("sandbox {}: teardown failed: {e}", dir.display());
            }
        }
    }
}
