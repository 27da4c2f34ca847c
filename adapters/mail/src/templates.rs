//! The messages' texts: each [`Mail`] as a multipart/alternative message
//! with a plain-text and an HTML part, its link built on the configured
//! base URL.

use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

use domain::Mail;

/// Why a message could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The recipient's address is not one SMTP can carry.
    #[error("the recipient's address cannot be mailed to")]
    Recipient(#[source] lettre::address::AddressError),
    /// The message could not be assembled.
    #[error("the message could not be built")]
    Build(#[source] lettre::error::Error),
}

/// What every message is built with.
#[derive(Clone, Debug)]
pub struct Templates {
    /// The sender (`MAIL_FROM`).
    pub from: Mailbox,
    /// The base the links are built on (`MAIL_LINK_BASE_URL`), e.g.
    /// `https://app.example.com`: a reset link is
    /// `<base>/reset_password?token=<token>`.
    pub link_base: String,
}

/// The path, under the link base, of a password-reset link.
pub const RESET_PATH: &str = "/reset_password";

impl Templates {
    /// The link a reset token travels in.
    pub fn reset_link(&self, token: &str) -> String {
        format!(
            "{}{RESET_PATH}?token={token}",
            self.link_base.trim_end_matches('/')
        )
    }

    /// `mail` as a message ready to send.
    ///
    /// # Errors
    /// [`RenderError`] when the recipient's address is not one SMTP takes.
    pub fn render(&self, mail: &Mail) -> Result<Message, RenderError> {
        let to: Mailbox = mail.to().as_str().parse().map_err(RenderError::Recipient)?;
        let (subject, text, html) = match mail {
            Mail::PasswordReset {
                token, valid_for, ..
            } => {
                let link = self.reset_link(token.expose());
                let minutes = valid_for.num_minutes();
                (
                    "Reset your password",
                    format!(
                        "Someone asked to reset the password of this account.\n\n\
                         To choose a new password, open this link within {minutes} minutes:\n\n\
                         {link}\n\n\
                         The link works once. If you did not ask for it, ignore this message: \
                         your password stays as it is.\n"
                    ),
                    format!(
                        "<!DOCTYPE html>\n<html><body>\n\
                         <p>Someone asked to reset the password of this account.</p>\n\
                         <p>To choose a new password, open this link within {minutes} minutes:</p>\n\
                         <p><a href=\"{link}\">{link}</a></p>\n\
                         <p>The link works once. If you did not ask for it, ignore this message: \
                         your password stays as it is.</p>\n\
                         </body></html>\n",
                        link = escape_html(&link)
                    ),
                )
            }
        };
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, text))
                    .singlepart(part(ContentType::TEXT_HTML, html)),
            )
            .map_err(RenderError::Build)
    }
}

/// The longest line 7bit text may carry (RFC 5322), CRLF aside.
const LINE_MAX: usize = 998;

/// A part of `text` as it is when it can travel so (ASCII, short lines:
/// 7bit), so the link reaches a reader unbroken; quoted-printable would
/// fold a long link with `=` soft breaks. Otherwise the encoding lettre
/// picks.
fn part(content_type: ContentType, text: String) -> SinglePart {
    let seven_bit =
        text.is_ascii() && !text.contains('\0') && text.lines().all(|l| l.len() <= LINE_MAX);
    let body = if seven_bit {
        let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text)
    };
    SinglePart::builder().header(content_type).body(body)
}

/// `text` safe inside HTML text and double-quoted attributes.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{Email, RecoveryToken};

    fn templates(base: &str) -> Templates {
        Templates {
            from: "Accounts <accounts@example.com>".parse().unwrap(),
            link_base: base.into(),
        }
    }

    #[test]
    fn the_link_is_built_on_the_configured_base() {
        let t = templates("https://app.example.com/");
        assert_eq!(
            t.reset_link("abc"),
            "https://app.example.com/reset_password?token=abc"
        );
    }

    #[test]
    fn a_reset_message_has_both_parts_with_the_link() {
        let token = RecoveryToken::from_random_bytes([9; 32]);
        let mail = Mail::PasswordReset {
            to: Email::parse("bob@x.io").unwrap(),
            token: token.clone(),
            valid_for: chrono::Duration::minutes(30),
        };
        let t = templates("https://app.example.com/a&b");
        let formatted = String::from_utf8(t.render(&mail).unwrap().formatted()).unwrap();
        assert!(formatted.contains("To: bob@x.io"), "{formatted}");
        assert!(formatted.contains("Subject: Reset your password"));
        assert!(formatted.contains("multipart/alternative"));
        assert!(formatted.contains("text/plain"));
        assert!(formatted.contains("text/html"));
        // Unbroken (no quoted-printable soft break), as a reader copies it.
        assert!(
            formatted.contains(&t.reset_link(token.expose())),
            "{formatted}"
        );
        assert!(formatted.contains("30 minutes"));
        assert!(
            formatted.contains("a&amp;b"),
            "the HTML part escapes the link"
        );
    }
}
