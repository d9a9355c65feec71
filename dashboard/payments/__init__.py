"""Payments: Stripe webhook verification and processing, the side effects of a payment
(claim, site activation, stopping outreach, review flags), reconciliation and the
`stripe simulate` demo tool. See docs/payments.md."""
