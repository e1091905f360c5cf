//! `/admin/groups`: create, rename, make public or internal, manage members, delete.

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use crate::domain::accounts::users::{self, User};
use crate::domain::admin::groups::{self, Group, GroupInput, GroupOverview};
use crate::domain::{self, FieldErrors};
use crate::web::error::Result;
use crate::web::extract::{Admin, CsrfForm, IdInPath};
use crate::web::page::{PageContext, after_post, done, ok};
use crate::web::session::AppSession;
use crate::web::state::AppState;

#[derive(Deserialize, Default)]
pub struct GroupForm {
    #[serde(default)]
    name: String,
    /// A checkbox: sent only when ticked.
    public: Option<String>,
    #[serde(default)]
    members: Vec<String>,
}

impl GroupForm {
    fn parse(&self) -> domain::Result<GroupInput> {
        GroupInput::parse(&self.name, self.public.is_some(), &self.members)
    }
}

/// An agent or admin as a checkbox of the group form.
pub struct MemberChoice {
    user: User,
    checked: bool,
}

async fn member_choices(state: &AppState, form: &GroupForm) -> Result<Vec<MemberChoice>> {
    let checked: BTreeSet<&str> = form.members.iter().map(|id| id.trim()).collect();
    Ok(users::active_staff(&state.db)
        .await?
        .into_iter()
        .map(|user| MemberChoice { checked: checked.contains(user.id.to_string().as_str()), user })
        .collect())
}

#[derive(Template)]
#[template(path = "admin/groups.html")]
pub struct GroupsPage {
    ctx: PageContext,
    groups: Vec<GroupOverview>,
    form: GroupForm,
    errors: FieldErrors,
    members: Vec<MemberChoice>,
}

async fn list_page(state: &AppState, ctx: PageContext, form: GroupForm, errors: FieldErrors) -> Result<GroupsPage> {
    let members = member_choices(state, &form).await?;
    Ok(GroupsPage { ctx, groups: groups::overview(&state.db).await?, form, errors, members })
}

pub async fn list(State(state): State<AppState>, Admin(_admin): Admin, ctx: PageContext) -> Result<Response> {
    ok(&list_page(&state, ctx, GroupForm::default(), FieldErrors::new()).await?)
}

pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<GroupForm>,
) -> Result<Response> {
    let created = match form.parse() {
        Ok(input) => groups::create(&state.db, &input, admin.id, state.now()).await,
        Err(error) => Err(error),
    };
    let message = format!("Group {} created.", form.name.trim());
    let done = |_| done(message, "/admin/groups");
    after_post(
        &session,
        created,
        done,
        |refused| async move { list_page(&state, ctx, form, refused.into_form_messages().0).await },
    )
    .await
}

#[derive(Template)]
#[template(path = "admin/group_form.html")]
pub struct GroupPage {
    ctx: PageContext,
    group: Group,
    form: GroupForm,
    errors: FieldErrors,
    members: Vec<MemberChoice>,
    tickets: i64,
    /// Where the tickets can go when the group is deleted.
    other_groups: Vec<Group>,
    /// Why the deletion was refused.
    conflict: Option<String>,
}

async fn group_page(
    state: &AppState,
    ctx: PageContext,
    group: Group,
    form: GroupForm,
    errors: FieldErrors,
    conflict: Option<String>,
) -> Result<GroupPage> {
    let members = member_choices(state, &form).await?;
    let tickets = groups::ticket_count(&state.db, group.id).await?;
    let other_groups = groups::all_groups(&state.db).await?.into_iter().filter(|each| each.id != group.id).collect();
    Ok(GroupPage { ctx, group, form, errors, members, tickets, other_groups, conflict })
}

async fn stored_form(state: &AppState, group: &Group) -> Result<GroupForm> {
    let members = groups::member_ids(&state.db, group.id).await?;
    Ok(GroupForm {
        name: group.name.clone(),
        public: group.public.0.then(|| "on".into()),
        members: members.iter().map(i64::to_string).collect(),
    })
}

pub async fn edit_form(
    State(state): State<AppState>,
    Admin(_admin): Admin,
    IdInPath(id): IdInPath,
    ctx: PageContext,
) -> Result<Response> {
    let group = groups::find(&state.db, id).await?;
    let form = stored_form(&state, &group).await?;
    ok(&group_page(&state, ctx, group, form, FieldErrors::new(), None).await?)
}

pub async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdInPath(id): IdInPath,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<GroupForm>,
) -> Result<Response> {
    let group = groups::find(&state.db, id).await?;
    let updated = match form.parse() {
        Ok(input) => groups::update(&state.db, id, input.into(), admin.id, state.now()).await,
        Err(error) => Err(error),
    };
    after_post(
        &session,
        updated,
        |()| done("Group saved.", format!("/admin/groups/{id}")),
        |refused| async move {
            let (errors, conflict) = refused.into_form_messages();
            group_page(&state, ctx, group, form, errors, conflict).await
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct DeleteForm {
    /// The group that takes this one's tickets; needed only when it has any.
    #[serde(default)]
    move_to: String,
}

pub async fn delete(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdInPath(id): IdInPath,
    ctx: PageContext,
    session: AppSession,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Result<Response> {
    let group = groups::find(&state.db, id).await?;
    let move_to = form.move_to.trim();
    let deleted = match move_to.parse::<i64>() {
        Err(_) if !move_to.is_empty() => {
            Err(domain::Error::Invalid(FieldErrors::single("move_to", "Choose a group from the list.")))
        }
        parsed => groups::delete(&state.db, id, parsed.ok(), admin.id, state.now()).await,
    };
    let name = group.name.clone();
    let done = |moved| {
        let message = match moved {
            0 => format!("Group {name} deleted."),
            1 => format!("Group {name} deleted; its ticket moved."),
            moved => format!("Group {name} deleted; its {moved} tickets moved."),
        };
        done(message, "/admin/groups")
    };
    after_post(&session, deleted, done, |refused| async move {
        let (errors, conflict) = refused.into_form_messages();
        let form = stored_form(&state, &group).await?;
        group_page(&state, ctx, group, form, errors, conflict).await
    })
    .await
}
