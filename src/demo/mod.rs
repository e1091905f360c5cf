//! `helpdesk demo`: a realistic installation — groups, agents, customers and tickets in
//! every status with their conversations — inserted in large batches, so that a million
//! tickets take minutes rather than hours.

use std::time::Instant;

use anyhow::Context;

mod rows;
mod shaping;

use rows::{Dice, Value, insert_rows};
use shaping::Shaping;

use crate::db::{Db, search};
use crate::domain::accounts::password::{self, Password};
use crate::domain::admin::settings::Settings;
use crate::domain::clock::Timestamp;
use crate::domain::tickets::sla::Deadlines;
use crate::domain::tickets::{Priority, Status};

pub struct DemoOptions {
    pub tickets: usize,
    pub password: String,
    pub force: bool,
}

pub struct DemoSummary {
    pub tickets: usize,
    pub messages: usize,
    pub agents: usize,
    pub customers: usize,
    pub seconds: f64,
}

/// Tickets per transaction.
const BATCH: usize = 5_000;

const COMPANIES: [&str; 12] =
    ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne", "Soylent", "Vandelay"];
const COMPANY_KINDS: [&str; 4] = ["Logistics", "Health", "Labs", "Retail"];
/// Of every five customers, three belong to an organisation (the rest write on their own).
const IN_ORGANISATION_OF_FIVE: usize = 3;
/// One ticket in this many copies a second customer.
const COPIED_ONE_IN: usize = 25;
const GROUPS: [(&str, bool); 4] = [("General", true), ("Sales", true), ("Technical", true), ("Security", false)];
const FIRST_NAMES: [&str; 24] = [
    "Ada", "Ben", "Chloé", "Dev", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kwame", "Lena", "Mateo", "Nora", "Omar",
    "Priya", "Quentin", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yara",
];
const LAST_NAMES: [&str; 16] = [
    "Okafor",
    "Lindqvist",
    "García",
    "Nakamura",
    "Schmidt",
    "Haddad",
    "Novak",
    "Rossi",
    "Kowalski",
    "Mensah",
    "Dubois",
    "Silva",
    "Jensen",
    "Murphy",
    "Tanaka",
    "Costa",
];
const SUBJECTS: [&str; 20] = [
    "Cannot sign in to the portal",
    "Invoice shows the wrong VAT number",
    "Printer on the third floor jams",
    "VPN drops every hour",
    "Request for a refund",
    "Password reset email never arrives",
    "Laptop battery drains overnight",
    "Upgrade to the business plan",
    "Suspicious login from an unknown country",
    "Shared drive is read-only",
    "Order arrived damaged",
    "How do I export my data?",
    "Two-factor codes are rejected",
    "Monitor flickers after the update",
    "Question about the annual contract",
    "Email attachments are blocked",
    "New starter needs an account",
    "Website checkout shows an error",
    "Phishing email received",
    "Calendar invites arrive twice",
];
const CUSTOMER_LINES: [&str; 10] = [
    "Hello, since this morning it does not work at all.",
    "I tried restarting twice, no change.",
    "Could you please look into this today? Our team is blocked.",
    "Here is the error message: \"Something went wrong (code 502)\".",
    "It happens on both my laptop and my phone.",
    "Thanks, that helped partly, but the problem is back.",
    "Is there any update on this?",
    "I attached a screenshot to my previous email.",
    "We are a customer since 2019, order number 48213.",
    "Thank you, everything works again!",
];
const AGENT_LINES: [&str; 8] = [
    "Thanks for reaching out. Could you tell us which browser you use?",
    "We have reset the setting on our side; please try again.",
    "I have forwarded this to our technical team and will update you here.",
    "Could you send us the exact time it happened?",
    "This is a known issue; a fix is planned for this week.",
    "Please clear the cache and sign in again.",
    "Your refund has been processed and should arrive in 3–5 days.",
    "I am marking this as resolved; reply here if anything is still wrong.",
];
const NOTE_LINES: [&str; 4] = [
    "Checked the logs: the account was locked by the rate limiter.",
    "Escalated to second level, waiting for their answer.",
    "Customer is on the enterprise plan: priority handling.",
    "Same root cause as the ticket from last week.",
];

/// The demo's organisations, each with a mail domain of its own; answers their ids.
async fn seed_organisations(tx: &mut crate::db::Tx, count: usize, now: Timestamp) -> anyhow::Result<Vec<i64>> {
    let mut organisations = Vec::with_capacity(count);
    let mut domains = Vec::with_capacity(count);
    for index in 0..count {
        let company = COMPANIES[index % COMPANIES.len()];
        let kind = COMPANY_KINDS[index / COMPANIES.len() % COMPANY_KINDS.len()];
        let round = index / (COMPANIES.len() * COMPANY_KINDS.len());
        let name = if round == 0 { format!("{company} {kind}") } else { format!("{company} {kind} {}", round + 1) };
        organisations.push(vec![Value::Text(name), Value::Int(now), Value::Int(now)]);
        domains.push(format!("{}{}.demo.test", company.to_lowercase(), index + 1));
    }
    insert_rows(tx, "INSERT INTO organisations (name, created_at, updated_at)", 3, organisations).await?;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM organisations ORDER BY id DESC LIMIT $1")
        .bind(count as i64)
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .rev()
        .collect();
    let domain_rows = ids.iter().zip(domains).map(|(id, domain)| vec![Value::Text(domain), Value::Int(*id)]).collect();
    insert_rows(tx, "INSERT INTO organisation_domains (domain, organisation_id)", 2, domain_rows).await?;
    Ok(ids)
}

fn person(dice: &mut Dice) -> String {
    format!("{} {}", dice.pick(&FIRST_NAMES), dice.pick(&LAST_NAMES))
}

pub async fn seed(db: &Db, options: &DemoOptions, now: Timestamp) -> anyhow::Result<DemoSummary> {
    let started = Instant::now();
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets").fetch_one(db.pool()).await?;
    if existing > 0 && !options.force {
        anyhow::bail!("this database already has {existing} tickets; run with --force to add the demo anyway");
    }
    let password = Password::parse(&options.password).map_err(|message| anyhow::anyhow!("--password: {message}"))?;
    let password_hash = password::hash(&password).await?;
    let settings = Settings::load(db).await?;
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    let agent_count = (options.tickets / 2_000).clamp(5, 200);
    let customer_count = (options.tickets / 10).clamp(20, 100_000);
    let organisation_count = (customer_count / 25).clamp(2, 4_000);

    // People and groups.
    let mut tx = db.begin_write().await?;
    for (name, public) in GROUPS {
        sqlx::query(
            "INSERT INTO groups (name, public, created_at, updated_at) SELECT $1, $2, $3, $3 \
             WHERE NOT EXISTS (SELECT 1 FROM groups WHERE lower(name) = lower($1))",
        )
        .bind(name)
        .bind(public)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    // Re-running with --force keeps the accounts (and organisations) that already exist.
    let existing_demo: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email LIKE '%@demo.test'").fetch_one(&mut *tx).await?;
    let organisations = if existing_demo == 0 { seed_organisations(&mut tx, organisation_count, now).await? } else { Vec::new() };
    // Demo accounts are verified: whoever seeds them vouches for them. The first customer
    // of each organisation manages it.
    let user_head = "INSERT INTO users (email, name, role, password_hash, active, created_at, updated_at, email_verified_at, \
                     organisation_id, org_manager)";
    let account = |email: String, name: String, role: &str, organisation: Option<i64>, manager: bool| {
        vec![
            Value::Text(email),
            Value::Text(name),
            Value::Text(role.into()),
            Value::Text(password_hash.clone()),
            Value::Bool(true),
            Value::Int(now),
            Value::Int(now),
            Value::Int(now),
            Value::OptInt(organisation),
            Value::Bool(manager),
        ]
    };
    let mut people = vec![account("admin@demo.test".into(), "Demo Admin".into(), "admin", None, false)];
    for index in 1..=agent_count {
        people.push(account(format!("agent{index}@demo.test"), person(&mut dice), "agent", None, false));
    }
    let mut managed = std::collections::HashSet::new();
    for index in 1..=customer_count {
        let member = index % 5 < IN_ORGANISATION_OF_FIVE && !organisations.is_empty();
        // One large client, with a tenth of all customers (and so of the tickets).
        let at = if index % 10 == 0 { 0 } else { index / 5 % organisations.len().max(1) };
        let organisation = member.then(|| organisations[at]);
        let manager = organisation.is_some_and(|organisation| managed.insert(organisation));
        people.push(account(format!("customer{index}@demo.test"), person(&mut dice), "customer", organisation, manager));
    }
    if existing_demo == 0 {
        insert_rows(&mut tx, user_head, 10, people).await?;
    }
    let agents: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE role IN ('agent', 'admin') AND email LIKE '%@demo.test' ORDER BY id")
            .fetch_all(&mut *tx)
            .await?;
    let customers: Vec<(i64, Option<i64>)> =
        sqlx::query_as("SELECT id, organisation_id FROM users WHERE role = 'customer' AND email LIKE '%@demo.test' ORDER BY id")
            .fetch_all(&mut *tx)
            .await?;
    let groups: Vec<i64> = sqlx::query_scalar("SELECT id FROM groups ORDER BY id").fetch_all(&mut *tx).await?;
    for (index, agent) in agents.iter().enumerate() {
        for group in [groups[index % groups.len()], groups[(index / 2 + 1) % groups.len()]] {
            sqlx::query(
                "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT (group_id, user_id) DO NOTHING",
            )
            .bind(group)
            .bind(agent)
            .execute(&mut *tx)
            .await?;
        }
    }
    let field_ids = shaping::seed_fields(&mut tx, now).await?;
    tx.commit().await?;

    // Tickets and their conversations, batch by batch.
    let statuses = [Status::New, Status::Open, Status::Pending, Status::OnHold, Status::Resolved, Status::Closed];
    let status_weights = [10, 25, 10, 5, 15, 35];
    let priorities = [Priority::Low, Priority::Medium, Priority::High, Priority::Urgent];
    let priority_weights = [20, 50, 22, 8];
    let history = (options.tickets as i64 / 100).clamp(30, 365) * 86_400;
    let mut messages_written = 0;
    let mut done = 0;
    while done < options.tickets {
        let batch = BATCH.min(options.tickets - done);
        let mut tx = db.begin_write().await?;
        let first_number: i64 = sqlx::query_scalar(
            "UPDATE counters SET next_value = next_value + $1 WHERE name = 'ticket_number' RETURNING next_value - $1",
        )
        .bind(batch as i64)
        .fetch_one(&mut *tx)
        .await?;
        let mut tickets = Vec::with_capacity(batch);
        let mut conversations = Vec::with_capacity(batch);
        for offset in 0..batch {
            let status = statuses[dice.weighted(&status_weights)];
            let priority = priorities[dice.weighted(&priority_weights)];
            // Open work is recent, so the queues show a realistic mix of due and overdue.
            let age =
                if status.is_active() { dice.below(3 * 86_400) as i64 } else { dice.below(history as usize) as i64 + 86_400 };
            let created_at = now - age;
            let (requester, organisation) = *dice.pick(&customers);
            let assignee = (status != Status::New).then(|| *dice.pick(&agents));
            let message_count = 1 + dice.below(10);
            let step = (age / (message_count as i64 + 1)).max(60);
            let updated_at = created_at + step * message_count as i64;
            let deadlines = Deadlines::start(settings.sla(priority), created_at);
            let first_response_at = (message_count > 1).then_some(created_at + step);
            let resolved_at = matches!(status, Status::Resolved | Status::Closed).then_some(updated_at);
            let closed_at = (status == Status::Closed).then_some(updated_at);
            tickets.push(vec![
                Value::Int(first_number + offset as i64),
                Value::Text(settings.ticket_prefix.clone()),
                Value::Text(dice.pick(&SUBJECTS).to_string()),
                Value::Int(requester),
                Value::Int(*dice.pick(&groups)),
                Value::OptInt(assignee),
                Value::Text(priority.as_str().into()),
                Value::Text(status.as_str().into()),
                Value::Int(created_at),
                Value::Int(updated_at),
                Value::Int(updated_at),
                Value::OptInt(first_response_at),
                Value::Int(deadlines.first_response_due_at),
                Value::Int(deadlines.resolution_due_at),
                Value::OptInt(deadlines.due_at(status, first_response_at)),
                Value::OptInt((status == Status::Pending).then_some(updated_at)),
                Value::OptInt(resolved_at),
                Value::OptInt(closed_at),
                Value::Bool(message_count % 2 == 1),
                Value::OptInt(organisation),
            ]);
            let copied = (dice.below(COPIED_ONE_IN) == 0).then(|| dice.pick(&customers).0).filter(|copied| *copied != requester);
            conversations.push((requester, assignee, created_at, step, message_count, copied, status));
        }
        insert_rows(
            &mut tx,
            "INSERT INTO tickets (number, prefix, subject, requester_id, group_id, assignee_id, priority, status, \
             created_at, updated_at, public_updated_at, first_response_at, first_response_due_at, resolution_due_at, \
             due_at, sla_paused_at, resolved_at, closed_at, customer_wrote_last, organisation_id)",
            20,
            tickets,
        )
        .await?;
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM tickets WHERE number >= $1 AND number < $2 ORDER BY number")
            .bind(first_number)
            .bind(first_number + batch as i64)
            .fetch_all(&mut *tx)
            .await?;
        let mut messages = Vec::new();
        let mut copies = Vec::new();
        let mut shaping = Shaping::default();
        for (ticket_id, (requester, assignee, created_at, step, count, copied, status)) in ids.iter().zip(conversations) {
            shaping.add(&mut dice, &field_ids, *ticket_id, status);
            if let Some(copied) = copied {
                copies.push(vec![Value::Int(*ticket_id), Value::Int(copied), Value::Int(created_at)]);
            }
            for index in 0..count {
                let at = created_at + step * index as i64;
                let (author, kind, public, body) = match (index % 2, assignee) {
                    (1, Some(agent)) if dice.below(5) == 0 => (agent, "note", false, dice.pick(&NOTE_LINES).to_string()),
                    (1, Some(agent)) => (agent, "message", true, dice.pick(&AGENT_LINES).to_string()),
                    _ => (requester, "message", true, dice.pick(&CUSTOMER_LINES).to_string()),
                };
                messages.push(vec![
                    Value::Int(*ticket_id),
                    Value::Text(kind.into()),
                    Value::Int(author),
                    Value::Text(body),
                    Value::Bool(public),
                    Value::Int(1),
                    Value::Int(at),
                ]);
            }
        }
        insert_rows(&mut tx, "INSERT INTO ticket_cc (ticket_id, user_id, created_at)", 3, copies).await?;
        shaping.write(&mut tx).await?;
        messages_written += messages.len();
        insert_rows(
            &mut tx,
            "INSERT INTO messages (ticket_id, kind, author_id, body, public, ticket_version, created_at)",
            7,
            messages,
        )
        .await?;
        tx.commit().await?;
        done += batch;
        if options.tickets >= 50_000 {
            eprintln!("  {done} tickets ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }

    let mut tx = db.begin_write().await?;
    search::reindex_all(&mut tx, db.backend()).await.context("building the search index")?;
    tx.commit().await?;
    db.settle_after_bulk_load().await?;
    Ok(DemoSummary {
        tickets: options.tickets,
        messages: messages_written,
        agents: agents.len(),
        customers: customers.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}
