"""Artifact commands: keeping a capture's bytes, reading and deleting the artifact."""

from __future__ import annotations

import hashlib

from ..domain import ids
from ..domain.artifact import CONTENT_TYPES, Artifact
from ..domain.errors import NotFound
from .commands import Commands


class ArtifactCommands(Commands):
    def keep_artifact(
        self, account_id: str, session_id: str, api_key_id: str | None, kind: str, data: bytes
    ) -> tuple[Artifact, int]:
        """Stores a capture's bytes, then records the artifact (bytes first: an artifact on record
        always has them)."""
        artifact = Artifact(
            account_id=account_id,
            session_id=session_id,
            api_key_id=api_key_id,
            kind=kind,
            content_type=CONTENT_TYPES[kind],
            byte_size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        self.artifact_contents.put(artifact.public_id, data)
        return artifact, self._save(artifact)

    def get_artifact(self, account_id: str | None, artifact_id: str) -> Artifact:
        """The artifact (None for `account_id`: whoever holds a signed link); deleted ones are not found."""
        uuid = ids.parse_public_id(ids.ARTIFACT, artifact_id)
        if uuid is None:
            raise NotFound("artifact", artifact_id)
        artifact = self._get(Artifact, uuid, "artifact", artifact_id)
        if artifact.deleted or (account_id is not None and artifact.account_id != account_id):
            raise NotFound("artifact", artifact_id)
        return artifact

    def delete_artifact(
        self, account_id: str | None, api_key_id: str | None, artifact_id: str, reason: str
    ) -> int:
        def command() -> int:
            artifact = self.get_artifact(account_id, artifact_id)
            artifact.delete(api_key_id, reason)
            return self._save(artifact)

        nid = self._retrying(command)
        self.artifact_contents.delete(artifact_id)
        return nid
