//! The desk's queue: views, filters, search and sorting over all tickets, one page at a
//! time, in a fixed number of statements whatever the page holds. The query string is read
//! once ([`query`]) into a WHERE clause ([`conditions`]); a search is planned from counts
//! that stop early ([`planner`]); the page and the sidebar's counts are read in [`list`],
//! and a search's matches in the other views in [`elsewhere`].

mod conditions;
mod elsewhere;
mod list;
mod planner;
mod query;
mod shaping;

pub use elsewhere::matches_by_status;
pub use list::{QueueRow, list, view_counts};
pub use query::{
    AssigneeFilter, COUNT_CAP, DENSE_SHARE, DESK_PAGE_SIZE, FieldFilter, INDEX_ORDER_MIN_VIEW, QueueLimits, QueueParams,
    QueueQuery, RANK_LIMIT, Sort, View, default_sort, end_of_day, parse_date,
};
pub use shaping::check_field_filters;
