//! The operator's route group (issue 26): `/admin/…` over the admin
//! interfaces of the orders, payments and users services, composed into
//! this component only — no customer-facing component imports them.
//! Every route needs an administrator's token; the writes (cancel, refund,
//! role) are limited per user and check the role again in the database.

mod bodies;

component_support::bindings!(operator "admin-api");

use component_support::wit::types::{PageRequest, TokenBucket};
use edge::bodies::CancelledBody;
use edge::rate_limit::Fail;
use edge::route::Admin;
use edge::{auth, body, rate_limit, Context, Handler, HttpResult, Reply};
use platform_core::admin::{
    email_prefix, older_than_secs, AuditFilter, NewRole, OrderFilter, ANOMALIES_PER_KIND,
};
use platform_core::page::Page;
use spin_sdk::http::IncomingRequest;

use bodies::{AnomalyList, AuditList, OrderDetailBody, OrderList, RefundBody, UserBody, UserList};
use shop::orders_admin::admin as orders_admin;
use shop::payments_admin::admin as payments_admin;
use shop::platform::users;
use shop::users_admin::admin as users_admin;

struct AdminApi;

impl Handler for AdminApi {
    type Routes = Admin;

    async fn handle(route: Admin, req: IncomingRequest, ctx: &mut Context) -> HttpResult {
        let admin = auth::admin(&req, ctx)?;
        match route {
            Admin::Orders => list_orders(&ctx.query),
            Admin::Order(id) => {
                let detail = orders_admin::get_order(id.get())?;
                let payment = payments_admin::payment_for_order(id.get())?;
                Ok(Reply::json(200, &OrderDetailBody::new(detail, payment)))
            }
            Admin::CancelOrder(id) => {
                // Taken by the service, on the connection it publishes on.
                let limit = rate_limit::user_bucket(WRITE_POLICY, admin.user_id)?;
                let service_limit = limit.as_ref().map(TokenBucket::from);
                let cancelled =
                    payments_admin::cancel_order(admin.user_id, id.get(), service_limit.as_ref())?;
                rate_limit::admitted_by_service(ctx, limit, cancelled.standing);
                Ok(Reply::json(200, &CancelledBody::new(id.get(), &cancelled)))
            }
            Admin::RefundPayment(id) => {
                limit_write(ctx, admin.user_id)?;
                let result = payments_admin::refund_payment(admin.user_id, id)?;
                let body = RefundBody::from(result);
                Ok(Reply::json(body.http_status(), &body))
            }
            Admin::Anomalies => {
                let secs = older_than_secs(&ctx.query)?;
                let list = payments_admin::anomalies(secs, ANOMALIES_PER_KIND)?;
                Ok(Reply::json(200, &AnomalyList::from(list)))
            }
            Admin::Users => list_users(&ctx.query),
            Admin::SetRole(user_id) => {
                limit_write(ctx, admin.user_id)?;
                let role = match NewRole::from_json(&body::read_json(req).await?)? {
                    NewRole::Admin => users::Role::Admin,
                    NewRole::Customer => users::Role::Customer,
                };
                let user = users_admin::set_role(admin.user_id, user_id, role)?;
                Ok(Reply::json(200, &UserBody::from(user)))
            }
            Admin::Audit => list_audit(&ctx.query),
        }
    }
}

fn list_orders(query: &str) -> HttpResult {
    let filter = OrderFilter::from_query(query)?;
    let page = orders_admin::list_orders(&wit_filter(filter), page_of(query)?)?;
    Ok(Reply::json(200, &OrderList::from((page, paging(query)?))))
}

fn list_users(query: &str) -> HttpResult {
    let prefix = email_prefix(query)?;
    let page = users_admin::search_users(prefix.as_deref(), page_of(query)?)?;
    Ok(Reply::json(200, &UserList::from((page, paging(query)?))))
}

fn list_audit(query: &str) -> HttpResult {
    let filter = AuditFilter::from_query(query)?;
    let wit = users_admin::AuditFilter {
        actor_id: filter.actor_id,
        target_type: filter.target_type.map(|t| t.as_str().to_string()),
        target_id: filter.target_id,
    };
    let page = users_admin::list_audit(&wit, page_of(query)?)?;
    Ok(Reply::json(200, &AuditList::from((page, paging(query)?))))
}

/// The bucket of the operator's writes (cancel, refund, role).
const WRITE_POLICY: &str = "admin-write";

/// The operator's writes may call Midtrans: limited like every write.
fn limit_write(ctx: &mut Context, user_id: i64) -> Result<(), edge::HttpError> {
    rate_limit::take(
        ctx,
        rate_limit::per_user(WRITE_POLICY, user_id)?,
        Fail::Open,
    )?;
    Ok(())
}

fn paging(query: &str) -> Result<Page, platform_core::ServiceError> {
    Page::from_query(query)
}

fn page_of(query: &str) -> Result<PageRequest, platform_core::ServiceError> {
    let page = paging(query)?;
    Ok(PageRequest {
        page: page.page,
        page_size: page.page_size,
    })
}

fn wit_filter(filter: OrderFilter) -> orders_admin::OrderFilter {
    let (created_from, created_to) = filter.rfc3339();
    orders_admin::OrderFilter {
        status: filter.status.map(Into::into),
        user_id: filter.user_id,
        created_from,
        created_to,
    }
}

edge::http_entry!(AdminApi);
