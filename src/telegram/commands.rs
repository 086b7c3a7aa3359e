//! The bot's commands, parsed from message text (`/model@my_bot opus`).

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Start,
    Help,
    New,
    Model(Option<String>),
    Models,
    Status,
    /// `/usage`: the plan's windows, tokens and cost, as the agent reported them.
    Usage,
    Stop,
    /// `/get PATH`: send a workspace file.
    Get(Option<String>),
    /// `/ls [DIR]`: list a workspace directory.
    Ls(Option<String>),
    /// `/project [NAME]`: show or set the conversation's project folder.
    Project(Option<String>),
    /// `/projects`: the workspace's project folders.
    Projects,
    Unknown(String),
}

/// The command menu Telegram shows, in order.
pub const MENU: &[(&str, &str)] = &[
    ("new", "Start a fresh conversation"),
    ("stop", "Stop the reply in progress"),
    ("model", "Show or set the model: /model <name>"),
    ("models", "List the models you can use"),
    ("status", "Backend, model and session state"),
    (
        "usage",
        "Plan limits, tokens and cost as the agent reports them",
    ),
    ("get", "Send a file from your workspace: /get <path>"),
    ("ls", "List a folder of your workspace: /ls [folder]"),
    (
        "project",
        "Show or set this conversation's project: /project [name]",
    ),
    ("projects", "List your projects"),
    ("help", "What this bot does"),
];

/// `None` when the text is not a command (an ordinary message).
pub fn parse(text: &str) -> Option<Command> {
    let text = text.trim();
    let rest = text.strip_prefix('/')?;
    let (head, arg) = match rest.split_once(char::is_whitespace) {
        Some((h, a)) => (h, Some(a.trim()).filter(|a| !a.is_empty())),
        None => (rest, None),
    };
    let name = head.split('@').next().unwrap_or(head).to_ascii_lowercase();
    Some(match name.as_str() {
        "start" => Command::Start,
        "help" => Command::Help,
        "new" | "reset" => Command::New,
        "model" => Command::Model(arg.map(str::to_string)),
        "models" => Command::Models,
        "status" => Command::Status,
        "usage" => Command::Usage,
        "stop" | "cancel" => Command::Stop,
        "get" => Command::Get(arg.map(str::to_string)),
        "ls" => Command::Ls(arg.map(str::to_string)),
        "project" => Command::Project(arg.map(str::to_string)),
        "projects" => Command::Projects,
        _ => Command::Unknown(name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_with_bot_suffix_and_arguments() {
        assert_eq!(
            parse("/model@kai_bot  gpt-x "),
            Some(Command::Model(Some("gpt-x".into())))
        );
        assert_eq!(parse("/model"), Some(Command::Model(None)));
        assert_eq!(parse("/STOP"), Some(Command::Stop));
        assert_eq!(
            parse("/frobnicate"),
            Some(Command::Unknown("frobnicate".into()))
        );
        assert_eq!(parse("hello /stop"), None);
        assert_eq!(
            parse("/get inbox/a b.pdf"),
            Some(Command::Get(Some("inbox/a b.pdf".into())))
        );
        assert_eq!(parse("/ls"), Some(Command::Ls(None)));
        assert_eq!(
            parse("/project@kai_bot api"),
            Some(Command::Project(Some("api".into())))
        );
        assert_eq!(parse("/projects"), Some(Command::Projects));
    }
}
