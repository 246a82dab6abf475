"""Account commands: opening accounts, adding members, listing them."""

from __future__ import annotations

from ..domain import ids
from ..domain.account import Account
from .commands import Commands


class AccountCommands(Commands):
    def create_account(
        self, name: str, tier: str, concurrency: int | None = None, profile_cap: int | None = None
    ) -> Account:
        account = Account.open(name=name, tier=tier, concurrency=concurrency, profile_cap=profile_cap)
        self._save(account)
        return account

    def add_member(self, owner_id: str, member_id: str, role: str) -> Account:
        self.get_account(member_id)

        def command() -> Account:
            owner = self.get_account(owner_id)
            owner.add_member(member_id, role)
            self._save(owner)
            return owner

        return self._retrying(command)

    def accounts(self) -> list[Account]:
        """Every account, oldest first, read from the event store (a view may be behind the CLI)."""
        return [self.get_account(ids.public_id(ids.ACCOUNT, e.originator_id)) for e in self._births(Account)]
