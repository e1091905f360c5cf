//! `/api/v1/reports/tickets`: ticket figures per week or month, as JSON or CSV.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, ApiResult, QueryParams, StaffCaller, data};
use crate::domain::FieldErrors;
use crate::domain::reports::{self, Period, PeriodFigures};
use crate::web::state::AppState;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReportParams {
    period: String,
    format: String,
}

const CSV_HEADER: &str = "period_start,period_end,created,resolved,closed,first_response_average_minutes,rating_average\n";

fn optional<T: ToString>(value: Option<T>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

fn csv(figures: &[PeriodFigures]) -> String {
    let mut out = String::from(CSV_HEADER);
    for row in figures {
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            row.start,
            row.end,
            row.created,
            row.resolved,
            row.closed,
            optional(row.first_response_average_minutes),
            optional(row.rating_average)
        ));
    }
    out
}

enum Format {
    Json,
    Csv,
}

fn parse_format(input: &str) -> Result<Format, ApiError> {
    match input.trim() {
        "" | "json" => Ok(Format::Json),
        "csv" => Ok(Format::Csv),
        other => Err(ApiError::invalid(&FieldErrors::single("format", format!("“{other}” is not json or csv.")))),
    }
}

pub async fn tickets(
    State(state): State<AppState>,
    StaffCaller(_staff): StaffCaller,
    QueryParams(params): QueryParams<ReportParams>,
) -> ApiResult {
    let period = Period::parse(&params.period)?;
    let format = parse_format(&params.format)?;
    let figures = reports::tickets(&state.db, period, state.now()).await?;
    Ok(match format {
        Format::Json => {
            let rows: Vec<_> = figures
                .iter()
                .map(|row| {
                    json!({
                        "period_start": row.start.to_string(),
                        "period_end": row.end.to_string(),
                        "created": row.created,
                        "resolved": row.resolved,
                        "closed": row.closed,
                        "first_response_average_minutes": row.first_response_average_minutes,
                        "rating_average": row.rating_average,
                    })
                })
                .collect();
            data(StatusCode::OK, json!({ "period": period.as_str(), "periods": rows }))
        }
        Format::Csv => {
            let disposition = format!("attachment; filename=\"tickets-{}.csv\"", period.as_str());
            let mut response = (StatusCode::OK, csv(&figures)).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
    })
}
