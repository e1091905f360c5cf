//! `/admin/users`: find, create and edit accounts; deactivate and reactivate them; turn off
//! the two-factor sign-in of someone locked out.

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::tokens::NewToken;
use crate::domain::accounts::api_tokens;
use crate::domain::accounts::role::Role;
use crate::domain::accounts::two_factor;
use crate::domain::accounts::user_admin::{self, UserInput};
use crate::domain::accounts::user_list::{self, UserFilter, UserListRow};
use crate::domain::accounts::users::{self, User};
use crate::domain::admin::groups::{self, Group};
use crate::domain::tickets::queue::{self, AssigneeFilter, QueueQuery, View};
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::{Admin, CsrfForm, IdInPath, NoFields};
use crate::web::format::Moment;
use crate::web::page::{PageContext, after_post, done, ok};
use crate::web::session::AppSession;
use crate::web::state::AppState;
use crate::web::views::{Pager, StatusView, page_number};

#[derive(Deserialize, Default)]
pub struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    active: String,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    ctx: PageContext,
    params: ListParams,
    rows: Vec<UserRowView>,
    pager: Pager,
    total: i64,
    roles: &'static [Role],
}

pub struct UserRowView {
    user: User,
    groups: String,
    created: Moment,
}

pub async fn list(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    ctx: PageContext,
    Query(params): Query<ListParams>,
) -> Result<Response> {
    let filter = UserFilter {
        text: params.q.clone(),
        role: params.role.parse().ok(),
        active: match params.active.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        page: page_number(params.page.as_deref()),
    };
    let paged = user_list::list(&state.db, &filter).await?;
    let pager = Pager::new(&paged, "/admin/users", &[("q", &params.q), ("role", &params.role), ("active", &params.active)]);
    let now = state.now();
    let rows = paged
        .items
        .into_iter()
        .map(|UserListRow { user, created_at, group_names, .. }| UserRowView {
            user,
            groups: group_names.join(", "),
            created: Moment::new(created_at, now),
        })
        .collect();
    ok(&UsersPage { ctx, params, rows, pager, total: paged.total_items, roles: Role::ALL })
}

#[derive(Deserialize, Default, Clone)]
pub struct UserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    groups: Vec<String>,
    /// A checkbox: present when ticked.
    verified: Option<String>,
}

impl TryFrom<&UserForm> for UserInput {
    type Error = domain::Error;

    fn try_from(form: &UserForm) -> domain::Result<Self> {
        UserInput::parse(&form.name, &form.email, &form.role, &form.password, &form.groups, form.verified.is_some())
    }
}

/// A group as a checkbox of the user form.
pub struct GroupChoice {
    group: Group,
    checked: bool,
}

/// An open ticket still assigned to the user, offered for reassignment.
pub struct AssignedTicket {
    number: i64,
    reference: String,
    subject: String,
    status: StatusView,
}

#[derive(Template)]
#[template(path = "admin/user_form.html")]
pub struct UserFormPage {
    ctx: PageContext,
    /// The account being edited; `None` on the new-user page.
    editing: Option<User>,
    form: UserForm,
    errors: FieldErrors,
    /// Why the change was refused as a whole (the last-admin rule).
    conflict: Option<String>,
    roles: &'static [Role],
    groups: Vec<GroupChoice>,
    assigned: Vec<AssignedTicket>,
    assigned_total: i64,
    agents: Vec<User>,
    tokens: Vec<TokenView>,
    /// A token just made: its secret, shown in this one answer.
    pub(super) new_token: Option<NewToken>,
    /// The new token's name as typed, when it was refused.
    pub(super) token_name: String,
}

pub struct TokenView {
    id: i64,
    name: String,
    created: Moment,
    last_used: Option<Moment>,
    revoked: Option<Moment>,
}

impl UserFormPage {
    fn role_selected(&self, role: &Role) -> bool {
        self.form.role == role.as_str()
    }
}

async fn form_page(
    state: &AppState,
    ctx: PageContext,
    editing: Option<User>,
    form: UserForm,
    errors: FieldErrors,
    conflict: Option<String>,
) -> Result<UserFormPage> {
    let checked: BTreeSet<&str> = form.groups.iter().map(|id| id.trim()).collect();
    let groups = groups::all_groups(&state.db)
        .await?
        .into_iter()
        .map(|group| GroupChoice { checked: checked.contains(group.id.to_string().as_str()), group })
        .collect();
    let (assigned, assigned_total, agents) = match &editing {
        Some(user) if user.role.is_staff() => {
            let viewer = ctx.user.clone().expect("admin pages have a signed-in user");
            let query = QueueQuery { view: View::All, assignee: Some(AssigneeFilter::Agent(user.id)), ..QueueQuery::default() };
            let paged = queue::list(&state.db, &viewer, &query, state.now()).await?;
            let tickets = paged
                .items
                .into_iter()
                .map(|row| AssignedTicket {
                    number: row.number.get(),
                    reference: row.reference(),
                    subject: row.subject,
                    status: row.status.into(),
                })
                .collect();
            (tickets, paged.total_items, users::active_staff(&state.db).await?)
        }
        _ => (Vec::new(), 0, Vec::new()),
    };
    let now = state.now();
    let tokens = match &editing {
        Some(user) => api_tokens::list_for_user(&state.db, user.id)
            .await?
            .into_iter()
            .map(|token| TokenView {
                id: token.id,
                name: token.name,
                created: Moment::new(token.created_at, now),
                last_used: token.last_used_at.map(|at| Moment::new(at, now)),
                revoked: token.revoked_at.map(|at| Moment::new(at, now)),
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(UserFormPage {
        ctx,
        editing,
        form,
        errors,
        conflict,
        roles: Role::ALL,
        groups,
        assigned,
        assigned_total,
        agents,
        tokens,
        new_token: None,
        token_name: String::new(),
    })
}

pub async fn new_form(State(state): State<AppState>, Admin(_admin): Admin, ctx: PageContext) -> Result<Response> {
    let form = UserForm { role: Role::Agent.as_str().into(), ..UserForm::default() };
    ok(&form_page(&state, ctx, None, form, FieldErrors::new(), None).await?)
}

pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<UserForm>,
) -> Result<Response> {
    // A new account's address is taken on the admin's word.
    let created = match UserInput::try_from(&UserForm { verified: Some("on".into()), ..form.clone() }) {
        Ok(input) => user_admin::create(&state.db, input, &admin, state.now()).await,
        Err(error) => Err(error),
    };
    let invited = form.password.is_empty();
    let done = |user: User| {
        let message = if invited {
            format!("Created {} <{}>. An invitation to choose a password is on its way to them.", user.name, user.email)
        } else {
            format!("Created {} <{}>.", user.name, user.email)
        };
        done(message, format!("/admin/users/{}", user.id))
    };
    after_post(&session, created, done, |refused| async move {
        let (errors, conflict) = refused.into_form_messages();
        form_page(&state, ctx, None, form, errors, conflict).await
    })
    .await
}

/// The form as the account stands.
async fn stored_form(state: &AppState, user: &User) -> Result<UserForm> {
    Ok(UserForm {
        name: user.name.clone(),
        email: user.email.clone(),
        role: user.role.as_str().into(),
        password: String::new(),
        groups: user_admin::group_ids_of(&state.db, user.id).await?.iter().map(i64::to_string).collect(),
        verified: user.verified.then(|| "on".to_owned()),
    })
}

/// The user's page as the account stands, with any reason an action on it was refused.
pub(super) async fn stored_page(
    state: &AppState,
    ctx: PageContext,
    user: User,
    errors: FieldErrors,
    conflict: Option<String>,
) -> Result<UserFormPage> {
    let form = stored_form(state, &user).await?;
    form_page(state, ctx, Some(user), form, errors, conflict).await
}

pub async fn edit_form(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    IdInPath(id): IdInPath,
    ctx: PageContext,
) -> Result<Response> {
    let user = user_admin::find(&state.db, id).await?;
    ok(&stored_page(&state, ctx, user, FieldErrors::new(), None).await?)
}

pub async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdInPath(id): IdInPath,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<UserForm>,
) -> Result<Response> {
    let user = user_admin::find(&state.db, id).await?;
    let updated = match UserInput::try_from(&form) {
        Ok(input) => user_admin::update(&state.db, id, input.into(), &admin, state.now()).await,
        Err(error) => Err(error),
    };
    after_post(
        &session,
        updated,
        |()| done("Changes saved.", format!("/admin/users/{id}")),
        |refused| async move {
            let (errors, conflict) = refused.into_form_messages();
            let form = UserForm { password: String::new(), ..form };
            form_page(&state, ctx, Some(user), form, errors, conflict).await
        },
    )
    .await
}

pub async fn deactivate(
    state: State<AppState>,
    admin: Admin,
    id: IdInPath,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    set_active(state, admin, id, ctx, session, false).await
}

pub async fn reactivate(
    state: State<AppState>,
    admin: Admin,
    id: IdInPath,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    set_active(state, admin, id, ctx, session, true).await
}

async fn set_active(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdInPath(id): IdInPath,
    ctx: PageContext,
    session: AppSession,
    active: bool,
) -> Result<Response> {
    let user = user_admin::find(&state.db, id).await?;
    let outcome = user_admin::set_active(&state.db, id, active, Some(admin.id), state.now()).await;
    let message = if active {
        format!("{} can sign in again.", user.name)
    } else {
        format!(
            "{} is deactivated and signed out everywhere. Any open tickets still assigned to them are listed below.",
            user.name
        )
    };
    // Deactivating oneself ends one's own session too: go where a visitor can.
    let next = if !active && id == admin.id { "/login".to_string() } else { format!("/admin/users/{id}") };
    after_post(
        &session,
        outcome,
        |()| done(message, next),
        |refused| async move {
            let (errors, conflict) = refused.into_form_messages();
            stored_page(&state, ctx, user, errors, conflict).await
        },
    )
    .await
}

/// Turns off the two-factor sign-in of someone who lost their phone and recovery codes.
pub async fn reset_two_factor(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdInPath(id): IdInPath,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response> {
    let user = user_admin::find(&state.db, id).await?;
    let outcome = two_factor::reset_by_admin(&state.db, id, &admin, state.now()).await;
    let message = format!("Two-factor sign-in is off for {}, who is signed out everywhere and told by mail.", user.name);
    after_post(
        &session,
        outcome,
        |()| done(message, format!("/admin/users/{id}")),
        |refused| async move {
            let (errors, conflict) = refused.into_form_messages();
            stored_page(&state, ctx, user, errors, conflict).await
        },
    )
    .await
}
