"""End-to-end smoke test of the core against the fake server."""

from payven_async import Card, Money, PayRequest, PayvenClient

from .fake_server import TRANSACTION_ID, FakePayven


async def test_pay_then_query(client: PayvenClient, fake_payven: FakePayven) -> None:
    """A pay and a query over loopback share one token and decode into models."""
    card = Card("Test Kullanici", "4546711234567894", "12", "2030", "000")
    result = await client.pay("sess-1", PayRequest(amount=Money(15000), card=card))
    query = await client.query(result.transaction_id or "")
    assert result.transaction_id == TRANSACTION_ID
    assert query.internal is not None
    assert query.internal.amount == 15000
    assert len(fake_payven.calls("/token")) == 1
