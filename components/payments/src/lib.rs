//! The payments service as a library component: it exports
//! `shop:platform/payments` and is composed into `payments-api` (the routes
//! and Midtrans's webhook) and `order-created-worker` (the saga) by Spin.

mod admin;
mod initiate;
mod lifecycle;
mod midtrans;
mod notification;
mod service;
mod settings;
mod store;

component_support::bindings!(operator "payments-service");

use component_support::wit::types::{CancelledOrder, Error, Event, TokenBucket};
use exports::shop::platform::payments::{
    Guest, InitiateRequest, Initiated, NotificationOutcome, Payment, SweepReport,
};
use platform_core::order::OrderId;
use platform_core::payment::InitiateRequest as Checked;

pub(crate) struct Payments;

impl Guest for Payments {
    fn get_payment_for_order(user_id: i64, order_id: i64) -> Result<Payment, Error> {
        Ok(service::get_for_order(user_id, OrderId::new(order_id)?)?)
    }

    fn initiate_payment(user_id: i64, request: InitiateRequest) -> Result<Initiated, Error> {
        let request = Checked::new(
            request.order_id,
            request.customer_name,
            request.customer_email,
        )?;
        Ok(initiate::initiate(user_id, &request)?)
    }

    fn handle_notification(body: Vec<u8>) -> Result<NotificationOutcome, Error> {
        Ok(notification::handle(&body)?)
    }

    fn create_pending_payment(event: Event) -> Result<(), Error> {
        Ok(service::create_pending_payment(&event)?)
    }

    fn cancel_order(
        user_id: i64,
        order_id: i64,
        limit: Option<TokenBucket>,
    ) -> Result<CancelledOrder, Error> {
        let who = lifecycle::cancel::Canceller::Customer(user_id);
        let (status, standing) =
            lifecycle::cancel::cancel(who, OrderId::new(order_id)?, limit.as_ref())?;
        Ok(CancelledOrder {
            status: status.into(),
            standing,
        })
    }

    fn sweep(limit: u32) -> Result<SweepReport, Error> {
        Ok(lifecycle::sweep::sweep(limit)?)
    }
}

export!(Payments);
