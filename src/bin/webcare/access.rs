//! Users, their tokens, and the audit trail of what they did.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

use webcare::access::{Role, Users};

use crate::args::{RoleArg, UserAction};
use crate::search::parse_time;
use crate::setup::{audit_cli, audit_cli_plain, cli_actor, load_to_write, open_state};

pub(crate) fn user(config_path: &Path, action: UserAction) -> Result<()> {
    let config = load_to_write(config_path)?;
    // The audit trail is checked before the users file changes: a change it cannot
    // record (a state database to upgrade first, a read-only one) is not made.
    open_state(&config)?;
    let path = &config.access.users_file;
    match action {
        UserAction::Add { name, role } => {
            let role = match role {
                RoleArg::Viewer => Role::Viewer,
                RoleArg::Admin => Role::Admin,
            };
            let password = read_new_password(&name)?;
            let what = Users::change_file(path, |users| users.set_user(&name, role, &password))?;
            audit_cli_plain(&config, "user_set", &format!("{name}: {role}, {what}"))?;
            outln!("{name}: {role} ({})", path.display());
        }
        UserAction::Remove { name } => {
            let removed = Users::change_file(path, |users| {
                if users.remove(&name)? {
                    Ok(())
                } else {
                    Err(webcare::access::AccessError::Usage(format!(
                        "{} ({})",
                        users.no_user(&name),
                        path.display()
                    )))
                }
            });
            removed?;
            audit_cli_plain(&config, "user_remove", &name)?;
            outln!("{name}: removed");
        }
        UserAction::List => {
            let users = Users::load(path)?;
            let now = chrono::Utc::now();
            if users.is_empty() {
                outln!(
                    "no users in {}; add one with `webcare user add NAME --role admin`",
                    path.display()
                );
            }
            for u in users.all() {
                let expired = u.tokens.iter().filter(|t| t.is_expired(now)).count();
                let live = u.tokens.len() - expired;
                match expired {
                    0 => outln!("{}  {}  {live} tokens", u.name, u.role),
                    _ => outln!("{}  {}  {live} tokens, {expired} expired", u.name, u.role),
                }
            }
            // As `GET /api/admin/users` is.
            audit_cli(&config, "users_read", "")?;
        }
    }
    Ok(())
}

/// The password for `webcare user add`: typed twice without echo at a terminal, else
/// one line of standard input (from a script or a password manager).
fn read_new_password(name: &str) -> Result<String> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        let mut password = String::new();
        std::io::stdin().read_line(&mut password)?;
        return Ok(password.trim_end_matches(['\r', '\n']).to_string());
    }
    let password =
        rpassword::prompt_password(format!("password for {name} (at least 12 characters): "))?;
    let again = rpassword::prompt_password("the same password again: ")?;
    if password != again {
        bail!("the two passwords differ; nothing was changed");
    }
    Ok(password)
}

/// A token's time as `webcare token` shows it.
pub(crate) fn shown(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// What `webcare token` does.
pub(crate) enum TokenAction {
    Add {
        expires: String,
        label: Option<String>,
    },
    List,
    Revoke(String),
    RevokeAll,
}

pub(crate) fn token(config_path: &Path, name: &str, action: TokenAction) -> Result<()> {
    let config = load_to_write(config_path)?;
    // As in [`user`]: no change the audit trail cannot record.
    open_state(&config)?;
    let path = &config.access.users_file;
    let now = chrono::Utc::now();
    match action {
        TokenAction::List => {
            let users = Users::load(path)?;
            let user = users
                .get(name)
                .with_context(|| format!("{} ({})", users.no_user(name), path.display()))?;
            if user.tokens.is_empty() {
                outln!("{name} has no tokens");
            }
            for t in &user.tokens {
                let expires = match t.expires {
                    None => "never".to_string(),
                    Some(at) if t.is_expired(now) => format!("expired {}", shown(at)),
                    Some(at) => format!("expires {}", shown(at)),
                };
                outln!(
                    "{}  {}  created {}  {}",
                    t.id(),
                    t.label.as_deref().unwrap_or("-"),
                    t.created.map_or_else(|| "-".to_string(), shown),
                    expires
                );
            }
            // As `GET /api/admin/users`, which lists the same, is.
            audit_cli(&config, "users_read", &format!("{name}: tokens"))?;
        }
        TokenAction::Revoke(id) => {
            // As the list shows it (the same id in capitals is the same token).
            let id = id.trim().to_ascii_lowercase();
            let id = id.as_str();
            Users::change_file(path, |users| {
                if users.revoke_token(name, id)? {
                    Ok(())
                } else {
                    Err(webcare::access::AccessError::Usage(format!(
                        "{name} has no token {id:?}; `webcare token {name} --list` shows their ids"
                    )))
                }
            })?;
            audit_cli_plain(&config, "token_revoke", &format!("{name}: token {id}"))?;
            outln!("{name}: token {id} revoked");
        }
        TokenAction::RevokeAll => {
            let revoked = Users::change_file(path, |users| users.revoke_tokens(name))?;
            audit_cli_plain(
                &config,
                "token_revoke",
                &format!("{name}: {revoked} tokens"),
            )?;
            outln!("{name}: {revoked} tokens revoked");
        }
        TokenAction::Add { expires, label } => {
            let lifetime = webcare::access::parse_token_lifetime(Some(&expires))
                .map_err(|m| anyhow::anyhow!("--expires: {m}"))?;
            let (token, stored) = Users::change_file(path, |users| {
                users.add_token(name, lifetime, label.as_deref(), now)
            })?;
            // The label was typed: redacted; the account is named as it is.
            let privacy = webcare::pipeline::Privacy::from_config(&config.pipeline)?;
            let summary = privacy.redact(&stored.summary());
            audit_cli_plain(&config, "token_add", &format!("{name}: {summary}"))?;
            let expiry = stored.expires.map_or_else(
                || "never expires".to_string(),
                |at| format!("expires {}", shown(at)),
            );
            errln!(
                "API token {} for {name}, {expiry} (shown once; send it as `Authorization: Bearer …`):",
                stored.id()
            );
            outln!("{token}");
        }
    }
    Ok(())
}

pub(crate) fn audit(
    config_path: &Path,
    since: Option<&str>,
    user: Option<&str>,
    limit: usize,
) -> Result<()> {
    let config = load_to_write(config_path)?;
    let since = since
        .map(|v| parse_time("--since", v, false, config.export.schedule.tz))
        .transpose()?;
    let state = open_state(&config)?;
    let entries = state.audit_entries(since, user, limit)?;
    // Recorded before anything is shown, as a search is.
    state
        .audit(chrono::Utc::now(), &cli_actor(), "audit_read", "")
        .context("cannot write the audit trail")?;
    let mut out = std::io::stdout().lock();
    for e in &entries {
        writeln!(
            out,
            "{}  {:<16} {:<14} {}",
            e.at.format("%Y-%m-%d %H:%M:%S"),
            e.actor,
            e.action,
            e.detail
        )?;
    }
    Ok(())
}
