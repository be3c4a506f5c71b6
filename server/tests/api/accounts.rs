//! Accounts, roles, invitations and the support console: each rule, the
//! bad inputs of issue #5, and the whole authorisation matrix.

use super::*;

on_both_databases!(
    members_roles_and_the_owner_rules,
    bad_invitations_and_answers_change_nothing,
    ownership_transfer_needs_the_password_and_a_member,
    an_invitation_to_a_new_address_leads_to_sign_up,
    the_authorisation_matrix,
    support_changes_an_email_when_the_new_address_confirms,
    support_switches_the_sign_in_method_to_email,
    support_requests_are_filed_listed_and_closed,
    a_role_taken_away_meanwhile_stops_the_action,
    an_unconfirmed_address_creates_no_account_and_invites_nobody,
    support_cannot_change_another_support_members_sign_in,
    a_held_support_change_can_be_cancelled_or_undone_by_its_owner,
);

/// Signs up and verifies `first`; returns (session, user id).
async fn person(app: &TestApp, first: &str, email: &str) -> (String, i64) {
    let cookie = app
        .sign_up(first, "Tester", email, PASSWORD)
        .await
        .session_cookie()
        .expect("signed up");
    let token = app.verification_token(email).await;
    let r = app
        .call("auth/verify-email", &[("token", &token)], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (cookie, user_id(app, email).await)
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    let (id,): (i64,) = sqlx::query_as(r#"SELECT id FROM "user" WHERE email_normalized = $1"#)
        .bind(email.to_lowercase())
        .fetch_one(app.backend.pool())
        .await
        .unwrap();
    id
}

async fn create_account(app: &TestApp, cookie: &str, name: &str) -> i64 {
    let r = app
        .call("accounts/create", &[("name", name)], Some(cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json().as_i64().unwrap()
}

async fn invite(app: &TestApp, cookie: &str, account: i64, email: &str, role: &str) -> Reply {
    app.call(
        "accounts/invite",
        &[
            ("account_id", &account.to_string()),
            ("email", email),
            ("role", role),
        ],
        Some(cookie),
    )
    .await
}

/// The id of the newest invitation to `email`.
async fn invitation_id(app: &TestApp, email: &str) -> i64 {
    let (id,): (i64,) = sqlx::query_as(
        "SELECT id FROM invitation WHERE email_normalized = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(email.to_lowercase())
    .fetch_one(app.backend.pool())
    .await
    .unwrap();
    id
}

async fn answer(app: &TestApp, cookie: &str, id: i64, accept: bool) -> Reply {
    let endpoint = if accept {
        "invitations/accept"
    } else {
        "invitations/decline"
    };
    app.call(
        endpoint,
        &[("invitation_id", &id.to_string())],
        Some(cookie),
    )
    .await
}

/// `email`'s role in `account`, if a member.
async fn role(app: &TestApp, account: i64, email: &str) -> Option<String> {
    let row: Option<(String,)> = sqlx::query_as(
        r#"SELECT m.role FROM membership m JOIN "user" u ON u.id = m.user_id
           WHERE m.account_id = $1 AND u.email_normalized = $2"#,
    )
    .bind(account)
    .bind(email.to_lowercase())
    .fetch_optional(app.backend.pool())
    .await
    .unwrap();
    row.map(|r| r.0)
}

/// Everything issue #5's calls can change, as text: a refused call must
/// leave it identical.
async fn snapshot(app: &TestApp) -> String {
    let pool = app.backend.pool();
    let accounts: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM account ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap();
    let members: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT account_id, user_id, role FROM membership ORDER BY account_id, user_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let invitations: Vec<(i64, String, String, String)> =
        sqlx::query_as("SELECT id, email_normalized, role, status FROM invitation ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    let users: Vec<(i64, String, String)> =
        sqlx::query_as(r#"SELECT id, email, mfa_method FROM "user" ORDER BY id"#)
            .fetch_all(pool)
            .await
            .unwrap();
    let requests: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, status FROM support_request ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    let changes: Vec<(i64, String)> =
        sqlx::query_as("SELECT user_id, new_email FROM email_change ORDER BY user_id, new_email")
            .fetch_all(pool)
            .await
            .unwrap();
    let authenticators = app
        .count("SELECT COUNT(*) FROM mfa_authenticator WHERE secret IS NOT NULL")
        .await;
    let audit = app.count("SELECT COUNT(*) FROM audit_event").await;
    let sessions = app.count("SELECT COUNT(*) FROM session").await;
    let mails = app.mails().await.len();
    format!(
        "{accounts:?}\n{members:?}\n{invitations:?}\n{users:?}\n{requests:?}\n{changes:?}\n\
         authenticators {authenticators}, audit rows {audit}, sessions {sessions}, mails {mails}"
    )
}

async fn members_roles_and_the_owner_rules(app: &TestApp) {
    let (ann, ann_id) = person(app, "Ann", "ann@example.org").await;
    let (bob, bob_id) = person(app, "Bob", "bob@example.org").await;

    let r = app
        .call("accounts/create", &[("name", "  ")], Some(&ann))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.field_error("name").as_deref(),
        Some("Enter a name for the account.")
    );
    let acme = create_account(app, &ann, "Acme").await;
    assert_eq!(
        role(app, acme, "ann@example.org").await.as_deref(),
        Some("owner")
    );
    assert_eq!(app.audit_count("account.created").await, 1);

    // The invitation reaches Bob's list, the badge and his mailbox.
    let r = invite(app, &ann, acme, "Bob@Example.org", "user").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mail = app
        .new_mail("Bob@Example.org", "Ann Tester invited you to Acme")
        .await;
    assert!(mail.contains("/profile/invitations"), "{mail}");
    assert!(mail.contains("as User"), "{mail}");
    assert_eq!(app.me(&bob).await["invitation_count"], 1);
    let list = app.call("invitations/list", &[], Some(&bob)).await.json();
    assert_eq!(list[0]["account_name"], "Acme");
    assert_eq!(list[0]["role"], "user");
    assert_eq!(list[0]["invited_by"], "Ann Tester");
    assert_eq!(list[0]["expires"], "4 December 2026");
    let page = app
        .call(
            "accounts/get",
            &[("account_id", &acme.to_string())],
            Some(&ann),
        )
        .await
        .json();
    assert_eq!(page["invitations"][0]["email"], "Bob@Example.org");

    let id = invitation_id(app, "bob@example.org").await;
    assert_eq!(answer(app, &bob, id, true).await.status, StatusCode::OK);
    assert_eq!(
        role(app, acme, "bob@example.org").await.as_deref(),
        Some("user")
    );
    assert_eq!(app.me(&bob).await["invitation_count"], 0);
    assert_eq!(app.me(&bob).await["memberships"][0]["role"], "user");
    app.new_mail("ann@example.org", "Bob Tester accepted your invitation")
        .await;
    assert_eq!(app.audit_count("invitation.accepted").await, 1);

    // A User sees the account but manages nothing.
    let page = app
        .call(
            "accounts/get",
            &[("account_id", &acme.to_string())],
            Some(&bob),
        )
        .await
        .json();
    assert_eq!(page["members"].as_array().unwrap().len(), 2);
    assert_eq!(page["members"][0]["role"], "owner");
    assert_eq!(page["my_role"], "user");
    // No invitations for someone who may not invite; what else a User may
    // do is `vocab::may`'s to say, and the calls below are refused.
    assert_eq!(page["invitations"], Value::Null);

    let change = |who: &str, id: i64, to: &str| {
        let who = who.to_string();
        let to = to.to_string();
        async move {
            app.call(
                "accounts/change-role",
                &[
                    ("account_id", &acme.to_string()),
                    ("user_id", &id.to_string()),
                    ("role", &to),
                ],
                Some(&who),
            )
            .await
        }
    };
    assert_eq!(change(&ann, bob_id, "admin").await.status, StatusCode::OK);
    assert_eq!(
        role(app, acme, "bob@example.org").await.as_deref(),
        Some("admin")
    );
    let mail = app
        .new_mail("bob@example.org", "your role was changed")
        .await;
    assert!(mail.contains("from User to Administrator"), "{mail}");
    assert_eq!(app.audit_count("account.role_changed").await, 1);

    // Nobody is made Owner directly; unknown roles are named; the Owner's
    // role stays.
    let r = change(&ann, bob_id, "owner").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .field_error("role")
        .unwrap()
        .contains("transfers ownership"));
    let r = change(&ann, bob_id, "superuser").await;
    assert_eq!(
        r.field_error("role").as_deref(),
        Some("Choose Administrator or User.")
    );
    let r = change(&bob, ann_id, "user").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.json()["Conflict"]["message"]
        .as_str()
        .unwrap()
        .contains("Owner's role cannot be changed"));
    assert_eq!(
        role(app, acme, "ann@example.org").await.as_deref(),
        Some("owner")
    );

    // The last (only) Owner can be neither removed nor leave.
    let remove = |who: &str, id: i64| {
        let who = who.to_string();
        async move {
            app.call(
                "accounts/remove-member",
                &[
                    ("account_id", &acme.to_string()),
                    ("user_id", &id.to_string()),
                ],
                Some(&who),
            )
            .await
        }
    };
    let before = snapshot(app).await;
    assert_eq!(remove(&bob, ann_id).await.status, StatusCode::CONFLICT);
    let r = remove(&ann, ann_id).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.json()["Conflict"]["message"]
        .as_str()
        .unwrap()
        .contains("Transfer ownership"));
    assert_eq!(snapshot(app).await, before);

    // Removing a member mails them; leaving does not need anyone.
    assert_eq!(remove(&ann, bob_id).await.status, StatusCode::OK);
    assert_eq!(role(app, acme, "bob@example.org").await, None);
    app.new_mail("bob@example.org", "you were removed from an account")
        .await;
    assert_eq!(
        app.me(&bob).await["memberships"],
        Value::Array(vec![]),
        "the account is gone from Bob's profile"
    );
    let (cat, cat_id) = person(app, "Cat", "cat@example.org").await;
    invite(app, &ann, acme, "cat@example.org", "admin").await;
    let id = invitation_id(app, "cat@example.org").await;
    answer(app, &cat, id, true).await;
    assert_eq!(
        role(app, acme, "cat@example.org").await.as_deref(),
        Some("admin")
    );
    assert_eq!(remove(&cat, cat_id).await.status, StatusCode::OK);
    assert_eq!(role(app, acme, "cat@example.org").await, None);
    assert_eq!(app.audit_count("account.member_left").await, 1);
}

async fn bad_invitations_and_answers_change_nothing(app: &TestApp) {
    let (ann, _) = person(app, "Ann", "ann@example.org").await;
    let (bob, _) = person(app, "Bob", "bob@example.org").await;
    let (dan, _) = person(app, "Dan", "dan@example.org").await;
    let acme = create_account(app, &ann, "Acme").await;
    invite(app, &ann, acme, "bob@example.org", "user").await;
    let first = invitation_id(app, "bob@example.org").await;
    answer(app, &bob, first, true).await;

    let before = snapshot(app).await;
    let cases: [(&str, &str, &str, &str); 6] = [
        ("not-an-address", "user", "email", "like name@example.com"),
        ("", "user", "email", "Enter the email address to invite."),
        (
            "bob@example.org",
            "user",
            "email",
            "already a member of Acme",
        ),
        ("ANN@example.org", "user", "email", "your own address"),
        (
            "eve@example.org",
            "superuser",
            "role",
            "Choose Administrator or User.",
        ),
        ("eve@example.org", "owner", "role", "transfers ownership"),
    ];
    for (email, role, field, words) in cases {
        let r = invite(app, &ann, acme, email, role).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{email} {role}");
        let message = r.field_error(field).unwrap_or_default();
        assert!(message.contains(words), "{email} {role}: {message}");
    }
    assert_eq!(snapshot(app).await, before);

    // A second invitation while one is waiting is refused with its expiry.
    invite(app, &ann, acme, "dan@example.org", "user").await;
    let r = invite(app, &ann, acme, "dan@example.org", "admin").await;
    assert!(r
        .field_error("email")
        .unwrap()
        .contains("already waiting (it expires on 4 December 2026)"));
    let dans = invitation_id(app, "dan@example.org").await;

    // Someone else's invitation, an answered one, a declined one.
    let before = snapshot(app).await;
    let r = answer(app, &bob, dans, true).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.json()["Denied"]["message"]
        .as_str()
        .unwrap()
        .contains("sent to another email address"));
    let r = answer(app, &bob, first, true).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.json()["Conflict"]["message"],
        "You already accepted this invitation."
    );
    assert_eq!(
        answer(app, &dan, 999_999, true).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(snapshot(app).await, before);
    assert_eq!(answer(app, &dan, dans, false).await.status, StatusCode::OK);
    assert_eq!(app.audit_count("invitation.declined").await, 1);
    assert_eq!(
        app.call("invitations/list", &[], Some(&dan)).await.json(),
        Value::Array(vec![])
    );
    let before = snapshot(app).await;
    let r = answer(app, &dan, dans, true).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.json()["Conflict"]["message"],
        "You already declined this invitation."
    );
    assert_eq!(snapshot(app).await, before);

    // Revoked: gone from the list and no longer answerable.
    invite(app, &ann, acme, "dan@example.org", "user").await;
    let revoked = invitation_id(app, "dan@example.org").await;
    let r = app
        .call(
            "accounts/revoke-invitation",
            &[
                ("account_id", &acme.to_string()),
                ("invitation_id", &revoked.to_string()),
            ],
            Some(&ann),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.me(&dan).await["invitation_count"], 0);
    let r = answer(app, &dan, revoked, true).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.json()["Conflict"]["message"]
        .as_str()
        .unwrap()
        .contains("withdrawn"));
    assert_eq!(role(app, acme, "dan@example.org").await, None);

    // Expired after 7 days: not listed, not answerable; a new one can go.
    invite(app, &ann, acme, "dan@example.org", "user").await;
    let late = invitation_id(app, "dan@example.org").await;
    app.clock.advance(7 * 24 * 3600 - 1);
    // (Sessions end after 30 idle minutes: sign in again after the jump.)
    let dan = app
        .sign_in("dan@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .unwrap();
    assert_eq!(app.me(&dan).await["invitation_count"], 1);
    app.clock.advance(1);
    assert_eq!(app.me(&dan).await["invitation_count"], 0);
    let r = answer(app, &dan, late, true).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.json()["Conflict"]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));
    assert_eq!(role(app, acme, "dan@example.org").await, None);
    let ann = app
        .sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .unwrap();
    let r = invite(app, &ann, acme, "dan@example.org", "user").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.me(&dan).await["invitation_count"], 1);
}

async fn ownership_transfer_needs_the_password_and_a_member(app: &TestApp) {
    let (ann, ann_id) = person(app, "Ann", "ann@example.org").await;
    let (bob, bob_id) = person(app, "Bob", "bob@example.org").await;
    let (_dan, dan_id) = person(app, "Dan", "dan@example.org").await;
    let acme = create_account(app, &ann, "Acme").await;
    invite(app, &ann, acme, "bob@example.org", "user").await;
    let id = invitation_id(app, "bob@example.org").await;
    answer(app, &bob, id, true).await;

    let transfer = |who: &str, to: i64, password: &str| {
        let who = who.to_string();
        let password = password.to_string();
        async move {
            app.call(
                "accounts/transfer",
                &[
                    ("account_id", &acme.to_string()),
                    ("user_id", &to.to_string()),
                    ("password", &password),
                ],
                Some(&who),
            )
            .await
        }
    };
    let r = transfer(&ann, bob_id, "wrong password entirely").await;
    assert_eq!(
        r.field_error("password").as_deref(),
        Some("That password is not right.")
    );
    assert_eq!(
        app.audit_count("session.sign_in_failed").await,
        1,
        "a wrong password is audited (and throttled) as at sign-in"
    );
    let before = snapshot(app).await;
    let r = transfer(&ann, bob_id, "").await;
    assert!(r.field_error("password").is_some());
    let r = transfer(&ann, dan_id, PASSWORD).await;
    assert!(r
        .field_error("member")
        .unwrap()
        .contains("only go to a member"));
    let r = transfer(&ann, ann_id, PASSWORD).await;
    assert!(r.field_error("member").is_some());
    assert_eq!(
        transfer(&bob, bob_id, PASSWORD).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(snapshot(app).await, before);

    let r = transfer(&ann, bob_id, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        role(app, acme, "bob@example.org").await.as_deref(),
        Some("owner")
    );
    assert_eq!(
        role(app, acme, "ann@example.org").await.as_deref(),
        Some("admin")
    );
    assert_eq!(app.audit_count("account.ownership_transferred").await, 2);
    let mail = app
        .new_mail("bob@example.org", "you are now the owner of an account")
        .await;
    assert!(
        mail.contains("transferred ownership of Acme to you"),
        "{mail}"
    );
    // The old owner, now an Administrator, can no longer transfer.
    assert_eq!(
        transfer(&ann, ann_id, PASSWORD).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.me(&ann).await["memberships"][0]["role"], "admin");
}

async fn an_invitation_to_a_new_address_leads_to_sign_up(app: &TestApp) {
    let (ann, _) = person(app, "Ann", "ann@example.org").await;
    let acme = create_account(app, &ann, "Acme").await;
    invite(app, &ann, acme, "Cat@Example.org", "admin").await;
    let mail = app.new_mail("Cat@Example.org", "invited you to Acme").await;
    let marker = "/signup?invitation=";
    let at = mail.find(marker).expect("a sign-up link") + marker.len();
    let token = &mail[at..at + 43];

    let preview = app
        .call("invitations/preview", &[("token", token)], None)
        .await
        .json();
    assert_eq!(preview["email"], "Cat@Example.org");
    assert_eq!(preview["account_name"], "Acme");
    assert_eq!(
        app.call("invitations/preview", &[("token", "bogus")], None)
            .await
            .json(),
        Value::Null
    );

    // The address is locked to the invited one.
    let r = app
        .call(
            "auth/signup",
            &[
                ("first_name", "Cat"),
                ("last_name", "Ng"),
                ("email", "other@example.org"),
                ("password", PASSWORD),
                ("invitation", token),
            ],
            None,
        )
        .await;
    assert!(r
        .field_error("email")
        .unwrap()
        .contains("sent to Cat@Example.org"));
    assert_eq!(app.count(r#"SELECT COUNT(*) FROM "user""#).await, 1);
    let r = app
        .call(
            "auth/signup",
            &[
                ("first_name", "Cat"),
                ("last_name", "Ng"),
                ("email", "cat@example.org"),
                ("password", PASSWORD),
                ("invitation", token),
            ],
            None,
        )
        .await;
    let cat = r.session_cookie().expect("signed up");
    // Hidden and unanswerable until the address is confirmed, then waiting.
    assert_eq!(app.me(&cat).await["invitation_count"], 0);
    assert_eq!(
        app.call("invitations/list", &[], Some(&cat)).await.json(),
        Value::Array(vec![])
    );
    let id = invitation_id(app, "cat@example.org").await;
    let r = answer(app, &cat, id, true).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.json()["Denied"]["message"]
        .as_str()
        .unwrap()
        .contains("Confirm your email address first"));
    let verify = app.verification_token("cat@example.org").await;
    app.call("auth/verify-email", &[("token", &verify)], None)
        .await;
    assert_eq!(app.me(&cat).await["invitation_count"], 1);
    assert_eq!(answer(app, &cat, id, true).await.status, StatusCode::OK);
    assert_eq!(
        role(app, acme, "cat@example.org").await.as_deref(),
        Some("admin")
    );
}

/// Who calls, in the matrix.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    Anonymous,
    Unrelated,
    User,
    Admin,
    Owner,
    Support,
}

async fn the_authorisation_matrix(app: &TestApp) {
    use Caller::*;
    let (owner, _) = person(app, "Olga", "owner@example.org").await;
    let (admin, admin_id) = person(app, "Adam", "admin@example.org").await;
    let (user, user_id_) = person(app, "Ursula", "user@example.org").await;
    let (unrelated, unrelated_id) = person(app, "Una", "unrelated@example.org").await;
    let (support, _) = person(app, "Sue", "support@example.org").await;
    let (_ivy, ivy_id) = person(app, "Ivy", "ivy@example.org").await;
    app.backend
        .grant_support("support@example.org")
        .await
        .unwrap();
    let acme = create_account(app, &owner, "Acme").await;
    for (cookie, email, role) in [
        (&admin, "admin@example.org", "admin"),
        (&user, "user@example.org", "user"),
    ] {
        invite(app, &owner, acme, email, role).await;
        let id = invitation_id(app, email).await;
        assert_eq!(answer(app, cookie, id, true).await.status, StatusCode::OK);
    }
    // Throwaway members and invitations, one per caller allowed to act on them.
    let mut spare_members = std::collections::HashMap::new();
    let mut spare_invitations = std::collections::HashMap::new();
    for who in ["owner", "admin"] {
        let email = format!("spare-{who}@example.org");
        let (cookie, id) = person(app, "Spare", &email).await;
        invite(app, &owner, acme, &email, "user").await;
        answer(app, &cookie, invitation_id(app, &email).await, true).await;
        spare_members.insert(who, id);
        let pending = format!("pending-{who}@example.org");
        invite(app, &owner, acme, &pending, "user").await;
        spare_invitations.insert(who, invitation_id(app, &pending).await);
    }
    invite(app, &owner, acme, "ivy@example.org", "user").await;
    let ivys = invitation_id(app, "ivy@example.org").await;
    let request: i64 = app
        .call(
            "support/contact",
            &[("topic", "other"), ("message", "Help, please.")],
            Some(&unrelated),
        )
        .await
        .json()
        .as_i64()
        .unwrap();

    let callers = [Anonymous, Unrelated, User, Admin, Owner, Support];
    let cookie_of = |c: Caller| -> Option<String> {
        match c {
            Anonymous => None,
            Unrelated => Some(unrelated.clone()),
            User => Some(user.clone()),
            Admin => Some(admin.clone()),
            Owner => Some(owner.clone()),
            Support => Some(support.clone()),
        }
    };
    let key = |c: Caller| if c == Owner { "owner" } else { "admin" };
    let a = acme.to_string();
    let members_only = [User, Admin, Owner];
    let managers = [Admin, Owner];
    let signed_in = [Unrelated, User, Admin, Owner, Support];
    // (endpoint, form for a caller, who is allowed). Transfer comes last: the
    // Owner's allowed call hands the account over.
    type Form = Box<dyn Fn(Caller) -> Vec<(String, String)>>;
    let f = |pairs: &[(&str, String)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    };
    let account_only: Vec<(String, String)> = f(&[("account_id", a.clone())]);
    let rows: Vec<(&str, Form, Vec<Caller>)> = vec![
        ("accounts/mine", Box::new(|_| vec![]), signed_in.to_vec()),
        (
            "accounts/get",
            Box::new(move |_| account_only.clone()),
            members_only.to_vec(),
        ),
        (
            "accounts/invite",
            Box::new({
                let a = a.clone();
                move |c| {
                    vec![
                        ("account_id".into(), a.clone()),
                        (
                            "email".into(),
                            format!("new-{c:?}@example.org").to_lowercase(),
                        ),
                        ("role".into(), "user".into()),
                    ]
                }
            }),
            managers.to_vec(),
        ),
        (
            "accounts/revoke-invitation",
            Box::new({
                let a = a.clone();
                let spare = spare_invitations.clone();
                move |c| {
                    vec![
                        ("account_id".into(), a.clone()),
                        ("invitation_id".into(), spare[key(c)].to_string()),
                    ]
                }
            }),
            managers.to_vec(),
        ),
        (
            "accounts/change-role",
            Box::new({
                let a = a.clone();
                // Allowed callers really change it: Admin up, Owner back down.
                move |c| {
                    let role = if c == Owner { "user" } else { "admin" };
                    vec![
                        ("account_id".into(), a.clone()),
                        ("user_id".into(), user_id_.to_string()),
                        ("role".into(), role.into()),
                    ]
                }
            }),
            managers.to_vec(),
        ),
        (
            "accounts/remove-member",
            Box::new({
                let a = a.clone();
                let spare = spare_members.clone();
                move |c| {
                    vec![
                        ("account_id".into(), a.clone()),
                        ("user_id".into(), spare[key(c)].to_string()),
                    ]
                }
            }),
            managers.to_vec(),
        ),
        (
            "accounts/create",
            Box::new(|c| vec![("name".into(), format!("{c:?} Ltd"))]),
            signed_in.to_vec(),
        ),
        ("invitations/list", Box::new(|_| vec![]), signed_in.to_vec()),
        (
            "invitations/accept",
            Box::new(move |_| vec![("invitation_id".into(), ivys.to_string())]),
            vec![],
        ),
        (
            "invitations/decline",
            Box::new(move |_| vec![("invitation_id".into(), ivys.to_string())]),
            vec![],
        ),
        (
            "support/contact",
            // Open to everyone: people locked out of their account write too.
            Box::new(|_| {
                vec![
                    ("topic".into(), "other".into()),
                    ("message".into(), "Hello".into()),
                    ("email".into(), "someone@example.org".into()),
                ]
            }),
            callers.to_vec(),
        ),
        (
            "support/search",
            Box::new(|_| vec![("query".into(), "example".into())]),
            vec![Support],
        ),
        (
            "support/user",
            Box::new(move |_| vec![("user_id".into(), unrelated_id.to_string())]),
            vec![Support],
        ),
        ("support/requests", Box::new(|_| vec![]), vec![Support]),
        (
            "support/change-email",
            Box::new(move |_| {
                vec![
                    ("user_id".into(), unrelated_id.to_string()),
                    ("email".into(), "una.new@example.org".into()),
                    ("ticket".into(), "INC-1".into()),
                ]
            }),
            vec![Support],
        ),
        (
            "support/switch-mfa",
            // Ivy, who makes no calls here: the switch ends the person's sessions.
            Box::new(move |_| {
                vec![
                    ("user_id".into(), ivy_id.to_string()),
                    ("ticket".into(), "INC-2".into()),
                ]
            }),
            vec![Support],
        ),
        (
            "support/close-request",
            Box::new(move |_| vec![("ticket_id".into(), request.to_string())]),
            vec![Support],
        ),
        (
            "accounts/transfer",
            Box::new({
                let a = a.clone();
                move |_| {
                    vec![
                        ("account_id".into(), a.clone()),
                        ("user_id".into(), admin_id.to_string()),
                        ("password".into(), PASSWORD.into()),
                    ]
                }
            }),
            vec![Owner],
        ),
    ];

    let mut walked = 0;
    for (endpoint, form, allowed) in &rows {
        for caller in callers {
            let pairs = form(caller);
            let borrowed: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let before = snapshot(app).await;
            let cookie = cookie_of(caller);
            let r = app.call(endpoint, &borrowed, cookie.as_deref()).await;
            let expected = if allowed.contains(&caller) {
                StatusCode::OK
            } else if caller == Anonymous {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(r.status, expected, "{endpoint} as {caller:?}: {}", r.body);
            if expected != StatusCode::OK {
                assert_eq!(
                    snapshot(app).await,
                    before,
                    "{endpoint} as {caller:?} changed data"
                );
            }
            walked += 1;
        }
    }
    assert_eq!(walked, rows.len() * callers.len());
    assert_eq!(
        role(app, acme, "admin@example.org").await.as_deref(),
        Some("owner")
    );

    // The public contact page; signed in, the one inside My Profile's frame.
    let res = app
        .send(Request::get("/contact").body(Body::empty()).unwrap())
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .send(
            Request::get("/contact")
                .header(header::COOKIE, format!("atrium_session={support}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        res.headers().get(header::LOCATION).unwrap(),
        "/support/contact"
    );

    // Pages: without a session they send people to sign in.
    for page in [
        "/accounts",
        &format!("/accounts/{acme}"),
        "/profile/invitations",
        "/support",
        "/support/contact",
    ] {
        let res = app
            .send(Request::get(page).body(Body::empty()).unwrap())
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{page}");
        assert_eq!(
            res.headers().get(header::LOCATION).unwrap(),
            "/login",
            "{page}"
        );
    }
}

async fn support_changes_an_email_when_the_new_address_confirms(app: &TestApp) {
    let (sue, _) = person(app, "Sue", "sue@example.org").await;
    let (ann, ann_id) = person(app, "Ann", "ann@example.org").await;
    person(app, "Bob", "bob@example.org").await;
    let r = app
        .call("support/search", &[("query", "ann")], Some(&sue))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "not Support yet");
    app.backend.grant_support("SUE@example.org").await.unwrap();
    app.backend.grant_support("sue@example.org").await.unwrap();
    assert_eq!(app.audit_count("support.granted").await, 1);
    assert_eq!(app.me(&sue).await["is_support"], true);

    let hits = app
        .call("support/search", &[("query", "ann t")], Some(&sue))
        .await
        .json();
    assert_eq!(hits.as_array().unwrap().len(), 1, "{hits}");
    assert_eq!(hits[0]["email"], "ann@example.org");
    // Accented names match in any letter case on both databases.
    let (emile, _) = person(app, "Émile", "emile@example.org").await;
    let hits = app
        .call("support/search", &[("query", "ÉMILE tes")], Some(&sue))
        .await
        .json();
    assert_eq!(hits[0]["email"], "emile@example.org", "{hits}");
    let r = app
        .call(
            "profile/update",
            &[
                ("first_name", "Émilie"),
                ("last_name", "Ñúñez"),
                ("version", "1"),
            ],
            Some(&emile),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let hits = app
        .call("support/search", &[("query", "émilie ñúñ")], Some(&sue))
        .await
        .json();
    assert_eq!(hits[0]["email"], "emile@example.org", "{hits}");
    let hits = app
        .call("support/search", &[("query", "%")], Some(&sue))
        .await;
    assert_eq!(
        hits.field_error("query").as_deref(),
        Some("Type at least 2 characters of an email or name.")
    );
    let hits = app
        .call("support/search", &[("query", "_@")], Some(&sue))
        .await
        .json();
    assert_eq!(hits, Value::Array(vec![]), "LIKE wildcards are literal");

    let view = app
        .call(
            "support/user",
            &[("user_id", &ann_id.to_string())],
            Some(&sue),
        )
        .await
        .json();
    assert_eq!(view["email"], "ann@example.org");
    assert_eq!(view["mfa_method"], "email");
    assert!(view["events"].as_array().unwrap().len() >= 2);
    let keys: Vec<&String> = view.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "email",
            "email_verified",
            "events",
            "id",
            "is_support",
            "member_since",
            "memberships",
            "mfa_method",
            "name",
            "password_changed",
            "pending_email",
            "phone",
            "waiting_changes"
        ],
        "only these, never a hash or secret"
    );
    assert!(!view.to_string().contains("$argon2"));
    assert_eq!(app.audit_count("support.viewed").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_event WHERE kind = 'support.viewed' AND ip IS NULL")
            .await,
        1,
        "the person's activity does not show the staff member's IP"
    );

    let change = |email: &str, ticket: &str| {
        let form = [
            ("user_id", ann_id.to_string()),
            ("email", email.to_string()),
            ("ticket", ticket.to_string()),
        ];
        let sue = sue.clone();
        async move {
            let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call("support/change-email", &borrowed, Some(&sue))
                .await
        }
    };
    let before = snapshot(app).await;
    let r = change("ann.new@example.org", " ").await;
    assert!(r
        .field_error("ticket")
        .unwrap()
        .contains("ticket reference"));
    let r = change("nope", "INC-7").await;
    assert!(r.field_error("email").is_some());
    let r = change("bob@example.org", "INC-7").await;
    assert_eq!(
        r.field_error("email").as_deref(),
        Some("Another person already signs in with this address.")
    );
    let r = change("ANN@example.org", "INC-7").await;
    assert!(r
        .field_error("email")
        .unwrap()
        .contains("already this person's"));
    assert_eq!(snapshot(app).await, before);

    let r = change("ann.new@example.org", "INC-7").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // On hold: nothing goes to the new address until Ann approves from the
    // old one (or 24 hours pass).
    let (approve, _) = held_change_links(app, "ann@example.org").await;
    assert_eq!(
        app.mails_with_subject("Atrium: confirm your new email address")
            .await,
        0
    );
    let r = app
        .call("support/answer-held-change", &[("token", &approve)], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["state"], "released");
    let notice = app
        .new_mail("ann@example.org", "your email address is being changed")
        .await;
    assert!(notice.contains("INC-7"), "{notice}");
    let mail = app
        .new_mail("ann.new@example.org", "confirm your new email address")
        .await;
    let marker = "confirm-email-change?token=";
    let at = mail.find(marker).unwrap() + marker.len();
    let token = mail[at..at + 43].to_string();
    // Nothing changes until the link is opened.
    assert_eq!(app.me(&ann).await["email"], "ann@example.org");
    // A reset link mailed to the old address meanwhile dies with the change.
    assert_eq!(app.forgot("ann@example.org").await.status, StatusCode::OK);
    let old_reset = app.reset_token("ann@example.org").await;
    let r = app
        .call("email/confirm-change", &[("token", &token)], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json(), "ann.new@example.org");
    // Every session ends with the old address; the new one signs in.
    assert!(!signed_in(app, &ann).await);
    let ann = app
        .sign_in("ann.new@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .expect("the new address signs in");
    assert_eq!(app.me(&ann).await["email"], "ann.new@example.org");
    assert_eq!(app.me(&ann).await["email_verified"], true);
    app.new_mail("ann@example.org", "your email address was changed")
        .await;
    assert_eq!(app.audit_count("email.changed").await, 1);
    let again = app
        .call("email/confirm-change", &[("token", &token)], None)
        .await;
    assert_eq!(again.status, StatusCode::GONE);
    let r = app
        .reset(&old_reset, "a brand new passphrase 77", None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // The new address signs in; the old one no longer does.
    let r = app.sign_in("ann.new@example.org", PASSWORD, None).await;
    assert!(r.session_cookie().is_some(), "{}", r.body);
    let r = app.sign_in_password("ann@example.org", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Unapproved, the change goes ahead after 24 hours; a link then not
    // opened within 24 hours does nothing.
    change("ann.third@example.org", "INC-8").await;
    held_change_links(app, "ann.new@example.org").await;
    app.clock.advance(24 * 3600 - 1);
    assert_eq!(app.backend.release_due_support_changes().await.unwrap(), 0);
    app.clock.advance(1);
    assert_eq!(app.backend.release_due_support_changes().await.unwrap(), 1);
    app.new_mail("ann.new@example.org", "your email address is being changed")
        .await;
    let mail = app
        .new_mail("ann.third@example.org", "confirm your new email address")
        .await;
    let at = mail.find(marker).unwrap() + marker.len();
    app.clock.advance(24 * 3600);
    let r = app
        .call(
            "email/confirm-change",
            &[("token", &mail[at..at + 43])],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::GONE);
    assert_eq!(r.json()["Link"]["issue"], "Expired");
    assert_eq!(
        user_id(app, "ann.new@example.org").await,
        ann_id,
        "unchanged"
    );
}

async fn support_switches_the_sign_in_method_to_email(app: &TestApp) {
    let (sue, _) = person(app, "Sue", "sue@example.org").await;
    app.backend.grant_support("sue@example.org").await.unwrap();
    let (ann, ann_id) = person(app, "Ann", "ann@example.org").await;
    enrol_authenticator(app, &ann).await;
    assert_eq!(mfa_state(app, &ann).await["method"], "authenticator");
    let switch = |ticket: &str| {
        let form = [
            ("user_id", ann_id.to_string()),
            ("ticket", ticket.to_string()),
        ];
        let sue = sue.clone();
        async move {
            let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call("support/switch-mfa", &borrowed, Some(&sue)).await
        }
    };
    let before = snapshot(app).await;
    assert!(switch("").await.field_error("ticket").is_some());
    assert_eq!(snapshot(app).await, before);
    let r = switch("INC-42").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // On hold until Ann approves from her address (she has lost her app,
    // not her mail).
    let (approve, _) = held_change_links(app, "ann@example.org").await;
    assert_eq!(mfa_state(app, &ann).await["method"], "authenticator");
    let r = app
        .call("support/answer-held-change", &[("token", &approve)], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Every session of Ann's ends: whoever holds one signs in again.
    assert!(!signed_in(app, &ann).await);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM mfa_authenticator WHERE user_id = {ann_id}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM recovery_code WHERE user_id = {ann_id}"
        ))
        .await,
        0
    );
    let (detail,): (String,) = sqlx::query_as(
        "SELECT detail FROM audit_event WHERE kind = 'mfa.changed' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(app.backend.pool())
    .await
    .unwrap();
    assert!(detail.contains("INC-42"), "{detail}");
    let (held,): (String,) = sqlx::query_as(
        "SELECT detail FROM audit_event WHERE kind = 'support.change_held' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(app.backend.pool())
    .await
    .unwrap();
    assert!(
        held.contains("INC-42") && held.contains("sue@example.org"),
        "the staff member is named: {held}"
    );
    let mails = app
        .mails_with_subject("Atrium: your sign-in method was changed")
        .await;
    assert_eq!(mails, 2, "enrolment and the switch");
    let r = app.sign_in("ann@example.org", PASSWORD, None).await;
    let fresh = r
        .session_cookie()
        .unwrap_or_else(|| panic!("an emailed code signs in: {}", r.body));
    assert_eq!(mfa_state(app, &fresh).await["method"], "email");
}

async fn support_requests_are_filed_listed_and_closed(app: &TestApp) {
    let (sue, _) = person(app, "Sue", "sue@example.org").await;
    app.backend.grant_support("sue@example.org").await.unwrap();
    let (ann, _) = person(app, "Ann", "ann@example.org").await;
    let file = |topic: &str, message: &str| {
        let form = [
            ("topic", topic.to_string()),
            ("message", message.to_string()),
        ];
        let ann = ann.clone();
        async move {
            let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call("support/contact", &borrowed, Some(&ann)).await
        }
    };
    let before = snapshot(app).await;
    let r = file("billing", "   ").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.field_error("topic").is_some());
    assert_eq!(
        r.field_error("message").as_deref(),
        Some("Describe what you need.")
    );
    let r = file("email", &"x".repeat(4001)).await;
    assert!(r.field_error("message").unwrap().contains("4000"));
    assert_eq!(snapshot(app).await, before);

    let r = file("email", "Please move me to ann@new.example.org <script>").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.json().as_i64().unwrap();
    app.new_mail(
        "ann@example.org",
        &format!("we received your support request #{id}"),
    )
    .await;
    let list = app.call("support/requests", &[], Some(&sue)).await.json();
    assert_eq!(list[0]["email"], "ann@example.org");
    assert_eq!(
        list[0]["signed_out"], false,
        "filed signed in: the address is proved"
    );
    assert_eq!(list[0]["topic"], "Change my email address");
    assert_eq!(
        list[0]["message"],
        "Please move me to ann@new.example.org <script>"
    );
    let close = |id: i64| {
        let sue = sue.clone();
        async move {
            app.call(
                "support/close-request",
                &[("ticket_id", &id.to_string())],
                Some(&sue),
            )
            .await
        }
    };
    assert_eq!(close(id).await.status, StatusCode::OK);
    assert_eq!(
        app.call("support/requests", &[], Some(&sue)).await.json(),
        Value::Array(vec![])
    );
    assert_eq!(close(id).await.status, StatusCode::CONFLICT);
    assert_eq!(close(999_999).await.status, StatusCode::NOT_FOUND);

    // Signed out (locked out of the account), the form asks where to answer.
    let anon = |email: &str| {
        let email = email.to_string();
        async move {
            app.call(
                "support/contact",
                &[
                    ("topic", "mfa"),
                    ("message", "I lost my phone."),
                    ("email", &email),
                ],
                None,
            )
            .await
        }
    };
    assert_eq!(
        anon("").await.field_error("email").as_deref(),
        Some("Enter the email address we should answer.")
    );
    let r = anon("ANN@example.org").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let known = r.json().as_i64().unwrap();
    app.new_mail("ANN@example.org", &format!("support request #{known}"))
        .await;
    let r = anon("stranger@example.org").await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the same answer for an unknown address"
    );
    let list = app.call("support/requests", &[], Some(&sue)).await.json();
    assert_eq!(list[0]["name"], "Ann Tester");
    assert_eq!(
        list[0]["signed_out"], true,
        "filed signed out with Ann's address: marked, as anyone could type it"
    );
    assert_eq!(
        list[0]["user_id"].as_i64(),
        Some(user_id(app, "ann@example.org").await)
    );
    assert_eq!(list[1]["name"], "No user with this address");
    assert_eq!(list[1]["user_id"], Value::Null);
    assert_eq!(list[1]["email"], "stranger@example.org");
    for n in 0..3 {
        let r = anon(&format!("other{n}@example.org")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    assert_eq!(
        anon("sixth@example.org").await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "five per hour from one IP address"
    );

    // Five per hour per person.
    for n in 0..4 {
        assert_eq!(
            file("other", &format!("note {n}")).await.status,
            StatusCode::OK
        );
    }
    let r = file("other", "one too many").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // An hour later (the session has ended meanwhile: sign in again).
    app.clock.advance(3600);
    let again = app.sign_in("ann@example.org", PASSWORD, None).await;
    let ann = again.session_cookie().expect("signed in");
    let r = app
        .call(
            "support/contact",
            &[("topic", "other"), ("message", "later")],
            Some(&ann),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// The (approve, undo) tokens of the newest held-change mail to `to`.
async fn held_change_links(app: &TestApp, to: &str) -> (String, String) {
    let mail = app
        .new_mail(to, "Global Technical Support is changing how you sign in")
        .await;
    let marker = "support-change?token=";
    let mut tokens: Vec<String> = Vec::new();
    for (at, _) in mail.match_indices(marker) {
        let token = mail[at + marker.len()..at + marker.len() + 43].to_string();
        if !tokens.contains(&token) {
            tokens.push(token);
        }
    }
    assert_eq!(tokens.len(), 2, "two links: {mail}");
    (tokens[0].clone(), tokens[1].clone())
}

/// A change support asks for waits 24 hours unless approved from the
/// person's address; "This was not me" cancels it, or undoes it and signs
/// every device out, for 7 days.
async fn a_held_support_change_can_be_cancelled_or_undone_by_its_owner(app: &TestApp) {
    let (sue, _) = person(app, "Sue", "sue@example.org").await;
    app.backend.grant_support("sue@example.org").await.unwrap();
    let (ann, ann_id) = person(app, "Ann", "ann@example.org").await;
    let ann_id = ann_id.to_string();
    let change_email = |email: &'static str| {
        let ann_id = ann_id.clone();
        async move {
            // (Days pass in this test: Sue signs in each time.)
            let sue = app
                .sign_in("sue@example.org", PASSWORD, None)
                .await
                .session_cookie()
                .unwrap();
            let r = app
                .call(
                    "support/change-email",
                    &[("user_id", &ann_id), ("email", email), ("ticket", "INC-9")],
                    Some(&sue),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
    };
    let answer = |token: String| async move {
        app.call("support/answer-held-change", &[("token", &token)], None)
            .await
    };

    // Cancelled before it goes ahead: nothing ever reaches the new address.
    change_email("mallory@example.org").await;
    let (approve, undo) = held_change_links(app, "ann@example.org").await;
    let view = app
        .call("support/check-held-change", &[("token", &undo)], None)
        .await
        .json();
    assert_eq!(
        (view["approve"].as_bool(), view["state"].as_str()),
        (Some(false), Some("waiting"))
    );
    assert!(view["what"]
        .as_str()
        .unwrap()
        .contains("mallory@example.org"));
    let console = app
        .call("support/user", &[("user_id", &ann_id)], Some(&sue))
        .await
        .json();
    assert!(
        console["waiting_changes"][0]
            .as_str()
            .unwrap()
            .contains("mallory@example.org"),
        "{console}"
    );
    let r = answer(undo.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["state"], "undone");
    assert!(!signed_in(app, &ann).await, "every device signed out");
    app.new_mail(
        "ann@example.org",
        "the change to how you sign in was undone",
    )
    .await;
    assert_eq!(answer(undo).await.status, StatusCode::GONE, "once");
    assert_eq!(answer(approve).await.status, StatusCode::GONE);
    app.clock.advance(24 * 3600);
    assert_eq!(app.backend.release_due_support_changes().await.unwrap(), 0);
    assert_eq!(
        app.mails_with_subject("Atrium: confirm your new email address")
            .await,
        0
    );

    // Undone after it went ahead: the old address is Ann's again.
    change_email("mallory@example.org").await;
    let (approve, undo) = held_change_links(app, "ann@example.org").await;
    assert_eq!(answer(approve).await.json()["state"], "released");
    let mail = app
        .new_mail("mallory@example.org", "confirm your new email address")
        .await;
    let marker = "confirm-email-change?token=";
    let at = mail.find(marker).unwrap() + marker.len();
    let token = mail[at..at + 43].to_string();
    let r = app
        .call("email/confirm-change", &[("token", &token)], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mallory = app
        .sign_in("mallory@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .expect("the new address signs in");
    app.clock.advance(6 * 24 * 3600);
    let r = answer(undo).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!signed_in(app, &mallory).await, "the taker is signed out");
    assert_eq!(user_id(app, "ann@example.org").await.to_string(), ann_id);
    let r = app.sign_in_password("mallory@example.org", PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(app
        .sign_in("ann@example.org", PASSWORD, None)
        .await
        .session_cookie()
        .is_some());
    assert_eq!(app.audit_count("support.change_undone").await, 2);

    // "This was not me" works for 7 days.
    change_email("eve@example.org").await;
    let (_, undo) = held_change_links(app, "ann@example.org").await;
    app.clock.advance(7 * 24 * 3600);
    let r = app
        .call("support/check-held-change", &[("token", &undo)], None)
        .await;
    assert_eq!(r.status, StatusCode::GONE);
    assert_eq!(r.json()["Link"]["issue"], "Expired");
}

/// One support member cannot change another's email or sign-in method: a
/// member talked into it would hand the other's console over.
async fn support_cannot_change_another_support_members_sign_in(app: &TestApp) {
    let (sue, _) = person(app, "Sue", "sue@example.org").await;
    app.backend.grant_support("sue@example.org").await.unwrap();
    let (_, tom_id) = person(app, "Tom", "tom@example.org").await;
    app.backend.grant_support("tom@example.org").await.unwrap();
    let tom_id = tom_id.to_string();
    let before = snapshot(app).await;
    let r = app
        .call(
            "support/change-email",
            &[
                ("user_id", &tom_id),
                ("email", "mallory@example.org"),
                ("ticket", "INC-1"),
            ],
            Some(&sue),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        r.body.contains("Global Technical Support member"),
        "{}",
        r.body
    );
    let r = app
        .call(
            "support/switch-mfa",
            &[("user_id", &tom_id), ("ticket", "INC-1")],
            Some(&sue),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(
        snapshot(app).await,
        before,
        "nothing written, nothing mailed"
    );
    let view = app
        .call("support/user", &[("user_id", &tom_id)], Some(&sue))
        .await
        .json();
    assert_eq!(view["is_support"], true);
}

/// `server grant-support EMAIL` against a database file: the only way to
/// give the Support role.
#[tokio::test]
async fn the_grant_support_command() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("atrium.db").display());
    let run = |email: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["grant-support", email])
            .env("DATABASE_URL", &db)
            .env("MAIL_OUTBOX_DIR", dir.path().join("outbox"))
            .env("SMS_OUTBOX_DIR", dir.path().join("sms"))
            .env("SECRET_KEY_FILE", dir.path().join("secret.key"))
            .env("LOG_LEVEL", "warn")
            .output()
            .unwrap()
    };
    let out = run("nobody@example.org");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must sign up first"));

    let app = TestApp::with_database(db.clone(), tempfile::tempdir().unwrap(), None).await;
    let (cookie, _) = person(&app, "Sue", "sue@example.org").await;
    assert_eq!(app.me(&cookie).await["is_support"], false);
    let out = run("Sue@Example.org");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("now has the Support role"));
    assert_eq!(app.me(&cookie).await["is_support"], true);
    app.finish().await;
}

/// An Administrator's change is judged by their role when it commits: a
/// demotion that commits while the request waits stops it (the role is read
/// again, locked, inside the transaction that acts).
async fn a_role_taken_away_meanwhile_stops_the_action(app: &TestApp) {
    let (ann, _) = person(app, "Ann", "ann@example.org").await;
    let (bob, bob_id) = person(app, "Bob", "bob@example.org").await;
    let (cara, cara_id) = person(app, "Cara", "cara@example.org").await;
    let acme = create_account(app, &ann, "Acme").await;
    for (cookie, email, role) in [
        (&bob, "bob@example.org", "admin"),
        (&cara, "cara@example.org", "user"),
    ] {
        assert_eq!(
            invite(app, &ann, acme, email, role).await.status,
            StatusCode::OK
        );
        let id = invitation_id(app, email).await;
        assert_eq!(answer(app, cookie, id, true).await.status, StatusCode::OK);
    }
    let acme_id = acme.to_string();
    let cara_id = cara_id.to_string();
    let attempts: [(&str, Vec<(&str, &str)>); 3] = [
        (
            "accounts/change-role",
            vec![
                ("account_id", &acme_id),
                ("user_id", &cara_id),
                ("role", "admin"),
            ],
        ),
        (
            "accounts/remove-member",
            vec![("account_id", &acme_id), ("user_id", &cara_id)],
        ),
        (
            "accounts/invite",
            vec![
                ("account_id", &acme_id),
                ("email", "dan@example.org"),
                ("role", "user"),
            ],
        ),
    ];
    for (endpoint, form) in attempts {
        let before = snapshot(app).await;
        // Ann demotes Bob in a transaction that commits while Bob's request
        // is on its way: it has passed the first check by then.
        let mut demotion = app.backend.db().begin().await.unwrap();
        sqlx::query("UPDATE membership SET role = 'user' WHERE account_id = $1 AND user_id = $2")
            .bind(acme)
            .bind(bob_id)
            .execute(&mut *demotion)
            .await
            .unwrap();
        let (reply, ()) = tokio::join!(app.call(endpoint, &form, Some(&bob)), async {
            // Ordering only (the request must be waiting on the lock), not
            // a time rule; a later arrival would be refused all the same.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            demotion.commit().await.unwrap();
        });
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{endpoint}: {}",
            reply.body
        );
        // Only the demotion happened.
        sqlx::query("UPDATE membership SET role = 'admin' WHERE account_id = $1 AND user_id = $2")
            .bind(acme)
            .bind(bob_id)
            .execute(app.backend.pool())
            .await
            .unwrap();
        assert_eq!(snapshot(app).await, before, "{endpoint}");
    }
}

/// Accounts and invitations carry the person's address to others, so it
/// must be confirmed first: an unconfirmed one is told how, and nothing
/// is written or mailed.
async fn an_unconfirmed_address_creates_no_account_and_invites_nobody(app: &TestApp) {
    let (ann, _) = person(app, "Ann", "ann@example.org").await;
    let acme = create_account(app, &ann, "Acme").await;
    let eve = app
        .sign_up("Eve", "Tester", "eve@example.org", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    let before = snapshot(app).await;
    let r = app
        .call("accounts/create", &[("name", "Evil Corp")], Some(&eve))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        r.body.contains("Confirm your email address first"),
        "{}",
        r.body
    );
    assert!(r.body.contains("then create an account"), "{}", r.body);
    assert_eq!(snapshot(app).await, before);

    // Made an Administrator of Acme, Eve still cannot invite until confirmed.
    let eve_id = user_id(app, "eve@example.org").await;
    sqlx::query("INSERT INTO membership (account_id, user_id, role, created_at, updated_at) VALUES ($1, $2, 'admin', 0, 0)")
        .bind(acme)
        .bind(eve_id)
        .execute(app.backend.pool())
        .await
        .unwrap();
    let before = snapshot(app).await;
    let mails = app.mails().await.len();
    let r = invite(app, &eve, acme, "victim@example.org", "user").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("then invite people"), "{}", r.body);
    assert_eq!(snapshot(app).await, before);
    assert_eq!(app.mails().await.len(), mails);
    // Once confirmed, both work.
    let token = app.verification_token("eve@example.org").await;
    app.call("auth/verify-email", &[("token", &token)], None)
        .await;
    assert_eq!(
        invite(app, &eve, acme, "guest@example.org", "user")
            .await
            .status,
        StatusCode::OK
    );
    create_account(app, &eve, "Eve Labs").await;
}
