"""Label PDFs in S3, printed through short-lived presigned links; and, in the same bucket under
`rejected/`, marketplace payloads too big to keep in the table (they expire with the labels)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3LabelStorage:
    def __init__(self, bucket: str, client: S3Client) -> None:
        self._bucket = bucket
        self._s3 = client

    def put_label(self, key: str, pdf: bytes) -> None:
        self._s3.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=pdf,
            ContentType="application/pdf",
            ContentDisposition=f'inline; filename="{key.rsplit("/", 1)[-1]}"',
        )

    def get_label(self, key: str) -> bytes:
        return self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()

    def presigned_url(self, key: str, expires_in_s: int) -> str:
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in_s
        )

    def put_payload(self, key: str, body: bytes) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/json")
