# Each user's conversations (docs/design.md, "Users file" and "Telegram
# commands and limits"): the groups they are served in, the project folders made for
# them at activation, and the cap on their running agents. lib.nix renders
# them into the users file (`chats`, `projects`, `max_agents`).
{ lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.services.kai.users = mkOption {
    type = types.attrsOf (
      types.submodule (
        { name, ... }:
        {
          options = {
            chats = mkOption {
              type = types.listOf types.int;
              default = [ ];
              example = [ (-1001234567890) ];
              description = ''
                Group and supergroup chats (their ids, which are negative) where
                `${name}` is served too; by default only their private chat is.
                There `${name}` has a conversation of their own per topic (in a
                group without topics, only messages that mention the bot or
                reply to it). Other chats are ignored.
              '';
            };
            projects = mkOption {
              type = types.listOf types.str;
              default = [ ];
              example = [
                "api"
                "web"
              ];
              description = ''
                Project folders created (owned by the OS user, mode 0700) inside
                the workspace of `${name}` at activation; a conversation binds to
                one with `/project NAME`, which also creates missing ones. A name
                is 1–64 characters of `A-Z a-z 0-9 . _ -`, not starting with `.`.
              '';
            };
            maxAgents = mkOption {
              type = types.nullOr types.ints.positive;
              default = null;
              example = 2;
              description = ''
                The most agent processes of `${name}` that run at once, one per
                conversation (chat or topic); `null` means 3. Past it the least
                recently used idle agent is stopped (its conversation resumes
                later); when all are answering, a new message waits in its
                conversation's queue and the user is told which are busy.
              '';
            };
          };
        }
      )
    );
  };
}
