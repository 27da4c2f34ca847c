//! What a command asks the operator: the password of `user create` and
//! `user set-password` (from standard input, or asked twice on the
//! terminal without echo), and the confirmation of `user delete`.

use std::io::{BufRead, IsTerminal};

use crate::commands::CommandError;
use crate::config::PasswordInput;

/// The password of `user create` and `user set-password`: from standard
/// input with `--password-stdin`, else asked twice on the terminal without
/// echo.
///
/// # Errors
/// [`CommandError::Password`] when there is no terminal to ask on, the two
/// entries differ, or the input cannot be read.
pub fn read_password(input: &PasswordInput) -> Result<String, CommandError> {
    let unreadable = |e: std::io::Error| CommandError::Password(format!("cannot read it: {e}"));
    if input.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(unreadable)?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        return Ok(line.to_owned());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CommandError::Password(
            "no terminal to ask it on; pipe it with --password-stdin".into(),
        ));
    }
    let first = rpassword::prompt_password("Password: ").map_err(unreadable)?;
    let second = rpassword::prompt_password("Password (again): ").map_err(unreadable)?;
    if first != second {
        return Err(CommandError::Password(
            "the two entries differ; nothing was changed".into(),
        ));
    }
    Ok(first)
}

/// Asks `question` on the terminal and returns when the answer is yes
/// (`y` or `yes`, any case).
///
/// # Errors
/// [`CommandError::NotConfirmed`] for any other answer, or when standard
/// input is not a terminal (a script must say `--yes`).
pub fn confirm(question: &str) -> Result<(), CommandError> {
    use std::io::Write;
    if !std::io::stdin().is_terminal() {
        return Err(CommandError::NotConfirmed(
            "no terminal to confirm on; nothing was deleted (add --yes to delete without asking)"
                .into(),
        ));
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question}");
    let _ = err.flush();
    drop(err);
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CommandError::NotConfirmed(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CommandError::NotConfirmed(
            "not confirmed; nothing was deleted".into(),
        ))
    }
}
