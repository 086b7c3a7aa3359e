//! `/project` and `/projects`: a conversation works in a project folder
//! of the user's workspace (`<workspace>/<name>`, made as the user's
//! account, `files/project.rs`) or, unbound, in the workspace itself. The
//! agent's working directory, the inbox, `/get` and `/ls` follow it.
//! Binding starts the conversation fresh there.

use std::path::PathBuf;

use super::commands::MAX_QUOTED;
use super::{Chat, Work};
use crate::files::access::UserFiles;
use crate::files::project::{self, RULE};
use crate::telegram::split::quote;

impl Chat {
    /// Where this conversation works: its project folder, or the workspace.
    pub(super) fn dir(&self) -> PathBuf {
        match &self.state.project {
            Some(p) => self.user.workspace.join(p),
            None => self.user.workspace.clone(),
        }
    }

    /// `/project`.
    pub(super) fn show_project(&self) {
        match &self.state.project {
            Some(p) => self.say(format!(
                "📁 Project: {p} ({}). /project NAME switches, /projects lists them.",
                self.dir().display()
            )),
            None => self.say(format!(
                "📁 No project: this conversation works in {}. /project NAME binds it to a folder there; /projects lists them.",
                self.dir().display()
            )),
        }
    }

    /// `/project NAME`: the folder is made as the user when missing, and
    /// the conversation starts fresh there. A name against the rule is
    /// refused before anything touches the disk.
    pub(super) async fn set_project(&mut self, name: &str) {
        let name = name.trim();
        if !project::is_valid(name) {
            return self.say(format!(
                "❌ `{}` is not a project name: {RULE}. Nothing was changed.",
                quote(name, MAX_QUOTED)
            ));
        }
        if self.work != Work::Idle {
            return self.say(
                "A reply is running in this conversation: /stop it or wait, then switch projects.",
            );
        }
        if self.state.project.as_deref() == Some(name) {
            return self.show_project();
        }
        let root = UserFiles::new(&self.shared.host, &self.user);
        let dir = match root.make_project(name).await {
            Ok(dir) => dir,
            Err(e) => {
                let why = self.file_problem(e);
                return self.say(format!("❌ {why}"));
            }
        };
        self.close_session().await;
        self.state.conversation = None;
        self.state.project = Some(name.to_string());
        self.files = root.at(dir.clone());
        self.save();
        tracing::info!(project = name, "conversation bound to a project");
        self.say(format!(
            "📁 Project {name}: this conversation now works in {} and starts fresh there.",
            dir.display()
        ));
    }

    /// `/projects`: the workspace's folders, read as the user.
    pub(super) async fn list_projects(&mut self) {
        let root = UserFiles::new(&self.shared.host, &self.user);
        match root.projects().await {
            Ok(names) if names.is_empty() => self.say(format!(
                "No projects in {} yet. /project NAME makes one.",
                self.user.workspace.display()
            )),
            Ok(names) => {
                let current = self.state.project.as_deref();
                let lines: Vec<String> = names
                    .iter()
                    .map(|n| match Some(n.as_str()) == current {
                        true => format!("• {n} ← this conversation"),
                        false => format!("• {n}"),
                    })
                    .collect();
                self.say(format!(
                    "Projects in {}:\n{}",
                    self.user.workspace.display(),
                    lines.join("\n")
                ));
            }
            Err(e) => {
                let why = self.file_problem(e);
                self.say(format!("❌ {why}"));
            }
        }
    }
}
