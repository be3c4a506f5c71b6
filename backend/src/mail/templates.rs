//! The words of each mail. Every value that came from a person is escaped
//! before it goes into HTML.

use super::Mail;

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_page(product: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#1b2330\">\
         <p style=\"font-weight:600;font-size:18px\">{}</p>{body}\
         <p style=\"color:#5b6472;font-size:13px\">You received this because of activity on your {} account.</p>\
         </body></html>",
        escape_html(product),
        escape_html(product)
    )
}

/// "Confirm your email address", with the single-use link.
pub fn verify_email(
    product: &str,
    to: &str,
    first_name: &str,
    link: &str,
    valid_hours: i64,
) -> Mail {
    Mail {
        to: to.to_string(),
        subject: format!("{product}: confirm your email address"),
        text: format!(
            "Hello {first_name},\n\nPlease confirm your email address for {product} by opening this link:\n\n{link}\n\n\
             The link works once and expires in {valid_hours} hours. If you did not create an account, ignore this mail.\n"
        ),
        html: html_page(
            product,
            &format!(
                "<p>Hello {},</p><p>Please confirm your email address for {}.</p>\
                 <p><a href=\"{}\">Confirm my email address</a></p>\
                 <p>The link works once and expires in {valid_hours} hours. If you did not create an account, ignore this mail.</p>",
                escape_html(first_name),
                escape_html(product),
                escape_html(link)
            ),
        ),
    }
}

/// The reset link, valid for `valid_minutes`.
pub fn reset_link(
    product: &str,
    to: &str,
    first_name: &str,
    link: &str,
    valid_minutes: i64,
    expires: &str,
) -> Mail {
    Mail {
        to: to.to_string(),
        subject: format!("{product}: reset your password"),
        text: format!(
            "Hello {first_name},\n\nSomeone (we hope you) asked to reset the password of your {product} account. \
             Open this link to choose a new one:\n\n{link}\n\nThe link works once and expires in {valid_minutes} minutes \
             (at {expires}). If you did not ask, ignore this mail: your password stays as it is.\n"
        ),
        html: html_page(
            product,
            &format!(
                "<p>Hello {},</p><p>Someone (we hope you) asked to reset the password of your {} account.</p>\
                 <p><a href=\"{}\">Choose a new password</a></p>\
                 <p>The link works once and expires in {valid_minutes} minutes (at {}). \
                 If you did not ask, ignore this mail: your password stays as it is.</p>",
                escape_html(first_name),
                escape_html(product),
                escape_html(link),
                escape_html(expires)
            ),
        ),
    }
}

/// The second-step code of a sign-in.
pub fn sign_in_code(
    product: &str,
    to: &str,
    first_name: &str,
    code: &str,
    valid_minutes: i64,
) -> Mail {
    Mail {
        to: to.to_string(),
        subject: format!("{product}: your sign-in code"),
        text: format!(
            "Hello {first_name},\n\nYour {product} sign-in code is:\n\n    {code}\n\nIt works once, for {valid_minutes} minutes. \
             If you did not just sign in, someone knows your password: reset it now.\n"
        ),
        html: html_page(
            product,
            &format!(
                "<p>Hello {},</p><p>Your {} sign-in code is:</p>\
                 <p style=\"font-size:28px;font-weight:700;letter-spacing:6px\">{}</p>\
                 <p>It works once, for {valid_minutes} minutes. If you did not just sign in, someone knows your password: reset it now.</p>",
                escape_html(first_name),
                escape_html(product),
                escape_html(code)
            ),
        ),
    }
}

/// Notice after the sign-in method changed.
pub fn mfa_changed(product: &str, to: &str, first_name: &str, method: &str, when: &str) -> Mail {
    Mail {
        to: to.to_string(),
        subject: format!("{product}: your sign-in method was changed"),
        text: format!(
            "Hello {first_name},\n\nOn {when}, the second step of signing in to {product} was changed to {method}. \
             It applies wherever this email signs in.\n\nIf you did not do this, reset your password and contact Global Technical Support.\n"
        ),
        html: html_page(
            product,
            &format!(
                "<p>Hello {},</p><p>On {}, the second step of signing in to {} was changed to {}. \
                 It applies wherever this email signs in.</p>\
                 <p>If you did not do this, reset your password and contact Global Technical Support.</p>",
                escape_html(first_name),
                escape_html(when),
                escape_html(product),
                escape_html(method)
            ),
        ),
    }
}

/// Notice after a recovery code was used to sign in.
pub fn recovery_code_used(product: &str, to: &str, first_name: &str) -> Mail {
    Mail {
        to: to.to_string(),
        subject: format!("{product}: a recovery code was used"),
        text: format!(
            "Hello {first_name},\n\nA recovery code was just used to sign in to your {product} account. \
             Each code works once; you can make new ones on the Security tab.\n\n\
             If this was not you, reset your password and contact Global Technical Support.\n"
        ),
        html: html_page(
            product,
            &format!(
                "<p>Hello {},</p><p>A recovery code was just used to sign in to your {} account. \
                 Each code works once; you can make new ones on the Security tab.</p>\
                 <p>If this was not you, reset your password and contact Global Technical Support.</p>",
                escape_html(first_name),
                escape_html(product)
            ),
        ),
    }
}

/// Notice after a password change, so a person notices one they did not make.
pub fn password_changed(product: &str, to: &str, first_name: &str, when: &str) -> Mail {
    Mail {
        to: to.to_string(),
        subject: format!("{product}: your password was changed"),
        text: format!(
            "Hello {first_name},\n\nThe password of your {product} account was changed on {when}. \
             Every other device was signed out. This password is shared by every platform that uses this email.\n\n\
             If you did not do this, reset your password at once and contact Global Technical Support.\n"
        ),
        html: html_page(
            product,
            &format!(
                "<p>Hello {},</p><p>The password of your {} account was changed on {}. Every other device was signed out. \
                 This password is shared by every platform that uses this email.</p>\
                 <p>If you did not do this, reset your password at once and contact Global Technical Support.</p>",
                escape_html(first_name),
                escape_html(product),
                escape_html(when)
            ),
        ),
    }
}

/// A plain notice: a greeting, paragraphs, and optionally one button-like
/// link. Used by the account, invitation and support mails, whose words
/// differ but whose shape does not.
pub fn notice(
    product: &str,
    to: &str,
    first_name: Option<&str>,
    subject: &str,
    paragraphs: &[String],
    action: Option<(&str, &str)>,
) -> Mail {
    notice_with_actions(
        product,
        to,
        first_name,
        subject,
        paragraphs,
        action.as_slice(),
    )
}

/// A notice with several links, each under its label, in order.
pub fn notice_with_actions(
    product: &str,
    to: &str,
    first_name: Option<&str>,
    subject: &str,
    paragraphs: &[String],
    actions: &[(&str, &str)],
) -> Mail {
    let greeting = match first_name {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".to_string(),
    };
    let mut text = format!("{greeting}\n\n");
    let mut html = format!("<p>{}</p>", escape_html(&greeting));
    for p in paragraphs {
        text.push_str(p);
        text.push_str("\n\n");
        html.push_str(&format!("<p>{}</p>", escape_html(p)));
    }
    for (i, (label, link)) in actions.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&format!("{label}:\n{link}\n"));
        html.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>",
            escape_html(link),
            escape_html(label)
        ));
    }
    Mail {
        to: to.to_string(),
        subject: format!("{product}: {subject}"),
        text,
        html: html_page(product, &html),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_html_only() {
        let m = verify_email(
            "Atrium",
            "a@b.org",
            "<img src=x onerror=alert(1)>",
            "http://h/verify-email?token=t",
            24,
        );
        assert!(m.html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(!m.html.contains("<img"));
        assert!(m.text.contains("Hello <img src=x onerror=alert(1)>,"));
        assert!(m.text.contains("http://h/verify-email?token=t"));
        assert_eq!(m.subject, "Atrium: confirm your email address");
    }

    #[test]
    fn notices_escape_every_paragraph_and_the_link() {
        let m = notice(
            "Atrium",
            "a@b.org",
            Some("<b>Ann</b>"),
            "you were invited",
            &["Join \"A&B\" <now>".to_string()],
            Some(("Open", "http://h/x?a=1&b=2")),
        );
        assert!(m.html.contains("Hello &lt;b&gt;Ann&lt;/b&gt;,"));
        assert!(m.html.contains("Join &quot;A&amp;B&quot; &lt;now&gt;"));
        assert!(m.html.contains("href=\"http://h/x?a=1&amp;b=2\""));
        assert!(m.text.contains("Open:\nhttp://h/x?a=1&b=2"));
        assert_eq!(m.subject, "Atrium: you were invited");
    }
}
