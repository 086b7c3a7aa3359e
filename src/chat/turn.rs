//! One turn: the message goes to the agent (started if needed), the reply
//! streams into the chat as it grows, and whatever happens — a reply, an
//! error, silence, `/stop`, `/new`, the daemon stopping — ends in one final
//! message. Inputs that arrive meanwhile go through the chat's one input
//! handler (`input.rs`).

use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::input::Ask;
use super::{Chat, Input, Work};
use crate::agent::input::TurnInput;
use crate::agent::{AgentError, AgentEvent};
use crate::state::prompt::Prompt;
use crate::telegram::stream::{render, View};

/// How long `/stop` waits for the agent to wind down before killing it.
pub(super) const STOP_GRACE: Duration = Duration::from_secs(5);

/// Shown when the daemon stops mid-reply (the router closing the chat and
/// the shutdown signal both mean this).
const RESTARTING: &str = "⚠️ Kai is restarting, so this reply was interrupted.";

/// How a turn ended, for the user and for the restart notice.
enum Answer {
    /// Shown in full (a reply, an error, a stop).
    Shown(String),
    /// Cut off because the daemon is stopping.
    CutOff(String),
}

impl Chat {
    pub(super) async fn turn(&mut self, prompt: Prompt, rx: &mut mpsc::UnboundedReceiver<Input>) {
        let (views, view_rx) = watch::channel(View::default());
        let renderer = tokio::spawn(render(
            self.shared.tg.clone(),
            self.key.into(),
            prompt.reply_to,
            view_rx,
        ));
        self.mark_answering(&prompt);
        self.work = Work::Answering;
        self.shared.slots.busy(self.key, true);
        let input = self.turn_input(&prompt).await;
        let (final_text, cut_off) = match self.answer(&input, &views, rx).await {
            Answer::Shown(t) => (t, false),
            Answer::CutOff(t) => (t, true),
        };
        self.work = Work::Idle;
        self.shared.slots.busy(self.key, false);
        self.save();
        views.send_modify(|v| v.done = Some(final_text));
        if let Err(e) = renderer.await {
            tracing::error!("reply renderer failed: {e}");
        }
        if !cut_off {
            self.mark_answered();
        }
    }

    async fn answer(
        &mut self,
        text: &TurnInput,
        views: &watch::Sender<View>,
        rx: &mut mpsc::UnboundedReceiver<Input>,
    ) -> Answer {
        if let Err(message) = self.send(text).await {
            return Answer::Shown(message);
        }
        let silence = self.shared.cfg.agent_timeout;
        let mut deadline = tokio::time::Instant::now() + silence;
        let mut reply = String::new();
        let mut warnings: Vec<String> = Vec::new();
        loop {
            let album_due = self.album_due();
            let stopping = self.work == Work::Stopping;
            let Some(session) = self.session.as_mut() else {
                return Answer::Shown(with_note(&reply, "⚠️ The agent session ended."));
            };
            tokio::select! {
                event = session.next_event() => {
                    deadline = tokio::time::Instant::now() + if stopping { STOP_GRACE } else { silence };
                    match event {
                        Ok(AgentEvent::Text(t)) => {
                            reply = t;
                            views.send_modify(|v| v.live = reply.clone());
                        }
                        Ok(AgentEvent::Alive) => {}
                        Ok(AgentEvent::Warning(w)) => {
                            tracing::warn!("{w}");
                            warnings.push(w);
                        }
                        Ok(AgentEvent::Usage(u)) => {
                            tracing::debug!(usage = ?u, "the agent reported usage");
                            let conversation = session.conversation_id().map(str::to_string);
                            let now = crate::utc::now_unix();
                            if let Some(warning) = self.usage.record(u, conversation.as_deref(), now) {
                                tracing::info!("{warning}");
                                self.outbox.say(warning);
                            }
                        }
                        Ok(AgentEvent::Activity(a)) => {
                            if reply.is_empty() {
                                views.send_modify(|v| v.live = format!("⚙️ {a}…"));
                            }
                        }
                        Ok(AgentEvent::Done { text, error, interrupted }) => {
                            // None when the agent refused the conversation it
                            // was asked to resume: then it is forgotten.
                            self.state.conversation = session.conversation_id().map(str::to_string);
                            let text = warnings.iter().fold(text, |t, w| with_note(&t, &format!("⚠️ {w}")));
                            return Answer::Shown(match (error, interrupted || stopping) {
                                (Some(e), _) => with_note(&text, &format!("⚠️ The agent reported an error: {e}")),
                                (None, true) => with_note(&text, "⏹ Stopped."),
                                (None, false) if text.trim().is_empty() => "✅ Done (the agent sent no text).".into(),
                                (None, false) => text,
                            });
                        }
                        Err(e) => {
                            tracing::warn!("agent failed mid-turn: {e}");
                            self.close_session().await;
                            let what = for_user(&e);
                            return Answer::Shown(with_note(&reply, &format!("⚠️ The agent stopped unexpectedly ({what}). Your next message starts a fresh agent that continues this conversation.")));
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    self.close_session().await;
                    if stopping {
                        return Answer::Shown(with_note(&reply, "⏹ Stopped."));
                    }
                    tracing::warn!("agent silent for {silence:?}; stopped it");
                    return Answer::Shown(with_note(&reply, &format!("⚠️ The agent gave no sign of life for {} s, so I stopped it. Send your message again to retry.", silence.as_secs())));
                }
                input = rx.recv() => {
                    let Some(input) = input else {
                        self.close_session().await;
                        return Answer::CutOff(with_note(&reply, RESTARTING));
                    };
                    match self.take(input).await {
                        Some(Ask::Stop) => deadline = tokio::time::Instant::now() + STOP_GRACE,
                        Some(Ask::New) => {
                            return Answer::Shown(with_note(&reply, "⏹ Stopped. 🆕 The next message starts a new conversation."));
                        }
                        None => {}
                    }
                }
                _ = tokio::time::sleep_until(album_due), if self.album.is_some() => {
                    self.album_complete().await;
                }
                _ = self.shared.shutdown.cancelled() => {
                    if let Some(s) = self.session.as_mut() {
                        let _ = tokio::time::timeout(Duration::from_secs(2), s.interrupt()).await;
                    }
                    self.close_session().await;
                    return Answer::CutOff(with_note(&reply, RESTARTING));
                }
            }
        }
    }

    /// Hands the message to the agent, starting it if needed; on failure,
    /// the text to show the user.
    async fn send(&mut self, text: &TurnInput) -> Result<(), String> {
        self.ensure_session().await?;
        let model = self.model();
        let sent = match self.session.as_mut() {
            Some(s) => s.send_input(text, &model).await,
            None => return Err("⚠️ No agent session.".into()),
        };
        let sent = match sent {
            // It may have died just as the message went out: one more try
            // on a new agent, which resumes the conversation.
            Err(AgentError::Exited { .. }) => {
                tracing::warn!("the agent exited as the message was sent; retrying on a new one");
                self.close_session().await;
                self.ensure_session().await?;
                match self.session.as_mut() {
                    Some(s) => s.send_input(text, &model).await,
                    None => return Err("⚠️ No agent session.".into()),
                }
            }
            other => other,
        };
        if let Err(e) = sent {
            self.close_session().await;
            tracing::warn!("the agent could not take the message: {e}");
            return Err(format!("⚠️ The agent could not take the message ({}). Send it again to retry with a fresh session.", for_user(&e)));
        }
        Ok(())
    }
}

fn with_note(reply: &str, note: &str) -> String {
    if reply.trim().is_empty() {
        note.to_string()
    } else {
        format!("{reply}\n\n{note}")
    }
}

/// What went wrong, for the user: an agent's stderr is for the log (it is
/// often an unrelated warning); they need what happened and what now.
fn for_user(e: &AgentError) -> String {
    match e {
        AgentError::Exited { .. } => "its process exited".to_string(),
        other => short(other),
    }
}

/// The first line of an error, cut to a length a chat message can carry.
pub(super) fn short(e: &AgentError) -> String {
    let s = e.to_string();
    let first = s.lines().next().unwrap_or_default();
    first.chars().take(300).collect()
}
