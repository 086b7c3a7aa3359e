//! A configuration for `kai check-config` in a temporary directory: a
//! users file, a stand-in codex binary, and an env file written per check.
//! Shared by the check-config tests of the core and of the GitHub keys.

use std::process::Command;

pub struct Case {
    pub dir: tempfile::TempDir,
}

impl Case {
    pub fn new(users: &str) -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("users.json"), users).unwrap();
        let bin = dir.path().join("codex");
        std::fs::write(&bin, "#!/bin/sh\necho codex-cli 0.169.0\n").unwrap();
        std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        Case { dir }
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Writes an env file from `lines` (with `@USERS@`/`@CODEX@` filled in)
    /// and runs check-config with `env` added to a clean environment.
    pub fn check(&self, lines: &[&str], env: &[(&str, &str)]) -> (bool, String) {
        let text: String = lines
            .iter()
            .map(|l| {
                l.replace("@USERS@", &self.path("users.json"))
                    .replace("@CODEX@", &self.path("codex"))
                    + "\n"
            })
            .collect();
        let env_file = self.dir.path().join("env");
        std::fs::write(&env_file, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_kai"))
            .arg("check-config")
            .arg("--env-file")
            .arg(&env_file)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}
