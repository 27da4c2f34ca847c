//! The zxcvbn judgement of a password's strength (`PASSWORD_POLICY=strong`).

use domain::{Password, PasswordStrength};

/// `PASSWORD_POLICY=strong`: a password must reach a zxcvbn score (0–4)
/// of at least `min_score`, judged offline with zxcvbn's built-in
/// dictionaries and the account's own words. A refusal gives zxcvbn's
/// warning and suggestions, which never quote the password.
#[derive(Clone, Copy, Debug)]
pub struct ZxcvbnStrength {
    /// The lowest accepted score: 3 is "safely unguessable: moderate
    /// protection from an offline slow-hash scenario" (about 10^10
    /// guesses).
    pub min_score: u8,
}

impl Default for ZxcvbnStrength {
    /// Score 3 or more.
    fn default() -> Self {
        Self { min_score: 3 }
    }
}

impl PasswordStrength for ZxcvbnStrength {
    fn check(&self, password: &Password, context: &[&str]) -> Result<(), String> {
        let entropy = zxcvbn::zxcvbn(password.expose(), context);
        let score = u8::from(entropy.score());
        if score >= self.min_score {
            return Ok(());
        }
        let mut reasons: Vec<String> = Vec::new();
        if let Some(feedback) = entropy.feedback() {
            reasons.extend(feedback.warning().map(|w| w.to_string()));
            reasons.extend(feedback.suggestions().iter().map(ToString::to_string));
        }
        if reasons.is_empty() {
            reasons.push("Add another word or two. Uncommon words are better.".into());
        }
        Err(format!(
            "scores {score} of 4, at least {} needed. {}",
            self.min_score,
            reasons.join(" ")
        ))
    }
}
