"""The boto3 suite, run by tests/clients/run.ts with Debian's /usr/bin/python3.

Reads AMBER_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_DEFAULT_REGION and AMBER_WORK_DIR from the environment. Prints one line per
case: "RESULT<TAB>PASS<TAB>name<TAB>seconds" or
"RESULT<TAB>FAIL<TAB>name<TAB>seconds<TAB>reason". With --list it prints the case names
only (and needs no boto3).
"""

import concurrent.futures
import hashlib
import os
import sys
import time
import traceback
import urllib.error
import urllib.request

BUCKET = "boto3-bucket"
MANY_KEYS = 2500
MIB = 1024 * 1024

CASES = []


def case(name):
    def deco(fn):
        CASES.append((name, fn))
        return fn

    return deco


class Ctx:
    s3 = None
    work = None


ctx = Ctx()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            h.update(block)
    return h.hexdigest()


def expect(cond, message):
    if not cond:
        raise AssertionError(message)


@case("boto3 - create_bucket")
def create_bucket():
    ctx.s3.create_bucket(Bucket=BUCKET)
    names = [b["Name"] for b in ctx.s3.list_buckets()["Buckets"]]
    expect(BUCKET in names, f"list_buckets lacks {BUCKET}: {names}")


@case("boto3 - put_object, get_object, head_object")
def put_get_head():
    body = b"amber boto3 " * 1000
    put = ctx.s3.put_object(
        Bucket=BUCKET,
        Key="docs/hello.txt",
        Body=body,
        ContentType="text/plain",
        Metadata={"colour": "amber"},
    )
    md5 = hashlib.md5(body).hexdigest()
    expect(put["ETag"] == f'"{md5}"', f"put ETag {put['ETag']} != \"{md5}\"")
    got = ctx.s3.get_object(Bucket=BUCKET, Key="docs/hello.txt")
    data = got["Body"].read()
    expect(data == body, f"get body differs ({len(data)} bytes)")
    expect(got["ContentType"] == "text/plain", f"ContentType {got['ContentType']}")
    head = ctx.s3.head_object(Bucket=BUCKET, Key="docs/hello.txt")
    expect(head["ContentLength"] == len(body), f"ContentLength {head['ContentLength']}")
    expect(head["ETag"] == f'"{md5}"', f"head ETag {head['ETag']}")
    expect(head["Metadata"] == {"colour": "amber"}, f"Metadata {head['Metadata']}")


@case("boto3 - delete_object, then head_object is 404")
def delete_then_head():
    import botocore.exceptions

    ctx.s3.put_object(Bucket=BUCKET, Key="docs/gone.txt", Body=b"x")
    ctx.s3.delete_object(Bucket=BUCKET, Key="docs/gone.txt")
    try:
        ctx.s3.head_object(Bucket=BUCKET, Key="docs/gone.txt")
    except botocore.exceptions.ClientError as e:
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        expect(status == 404, f"head after delete gave {status}")
        return
    raise AssertionError("head_object after delete_object succeeded")


@case("boto3 - upload_file multipart (TransferConfig threshold 8 MiB)")
def upload_multipart():
    from boto3.s3.transfer import TransferConfig

    path = os.path.join(ctx.work, "upload.bin")
    with open(path, "wb") as f:
        for _ in range(40):
            f.write(os.urandom(MIB))
    cfg = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=4)
    ctx.s3.upload_file(path, BUCKET, "big/upload.bin", Config=cfg)
    head = ctx.s3.head_object(Bucket=BUCKET, Key="big/upload.bin")
    expect(head["ContentLength"] == 40 * MIB, f"ContentLength {head['ContentLength']}")
    expect(head["ETag"].endswith('-5"'), f"ETag {head['ETag']} is not a 5-part ETag")


@case("boto3 - download_file matches the upload")
def download():
    from boto3.s3.transfer import TransferConfig

    src = os.path.join(ctx.work, "upload.bin")
    dst = os.path.join(ctx.work, "download.bin")
    cfg = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB, max_concurrency=4)
    ctx.s3.download_file(BUCKET, "big/upload.bin", dst, Config=cfg)
    a, b = sha256_file(src), sha256_file(dst)
    expect(a == b, f"sha256 differs: uploaded {a}, downloaded {b}")


@case(f"boto3 - list_objects_v2 paginator over {MANY_KEYS:,} keys")
def list_v2():
    keys = [f"many/{i // 100:02d}/key-{i:05d}" for i in range(MANY_KEYS)]

    def put(k):
        ctx.s3.put_object(Bucket=BUCKET, Key=k, Body=k.encode())

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, keys))
    pages = ctx.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="many/")
    got, n_pages = [], 0
    for page in pages:
        n_pages += 1
        got += [o["Key"] for o in page.get("Contents", [])]
    expect(got == sorted(keys), f"listed {len(got)} keys, expected {len(keys)} in order")
    expect(n_pages == 3, f"{n_pages} pages, expected 3 of up to 1,000")
    # Delimiter listing: 25 common prefixes.
    r = ctx.s3.list_objects_v2(Bucket=BUCKET, Prefix="many/", Delimiter="/")
    prefixes = [p["Prefix"] for p in r.get("CommonPrefixes", [])]
    expect(len(prefixes) == 25, f"{len(prefixes)} common prefixes, expected 25")


@case(f"boto3 - list_objects (v1) paginator over {MANY_KEYS:,} keys")
def list_v1():
    got = []
    for page in ctx.s3.get_paginator("list_objects").paginate(Bucket=BUCKET, Prefix="many/", MaxKeys=700):
        got += [o["Key"] for o in page.get("Contents", [])]
    expect(len(got) == MANY_KEYS and got == sorted(got), f"listed {len(got)} keys")


@case("boto3 - empty put_object, then a non-empty one on the same keep-alive connection")
def empty_then_nonempty():
    # botocore sends "Expect: 100-continue" on every PutObject, even an empty
    # one. If the server answers the empty PUT with its final status and no
    # "100 Continue", botocore keeps that status for the connection, misparses
    # the next response on it and stalls until its read timeout
    # (boto/botocore#3755). One pooled connection and a short timeout make it
    # deterministic here.
    import boto3
    from botocore.config import Config

    one = boto3.client(
        "s3",
        endpoint_url=os.environ["AMBER_ENDPOINT"],
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},
            max_pool_connections=1,
            read_timeout=10,
        ),
    )
    start = time.monotonic()
    one.put_object(Bucket=BUCKET, Key="expect/empty", Body=b"")
    one.put_object(Bucket=BUCKET, Key="expect/data", Body=b"d" * 10000)
    took = time.monotonic() - start
    expect(took < 5, f"two small PUTs took {took:.1f} s")
    head = one.head_object(Bucket=BUCKET, Key="expect/empty")
    expect(head["ContentLength"] == 0, f"empty object has ContentLength {head['ContentLength']}")


@case("boto3 - copy_object")
def copy():
    r = ctx.s3.copy_object(
        Bucket=BUCKET, Key="docs/copy.txt", CopySource={"Bucket": BUCKET, "Key": "docs/hello.txt"}
    )
    src = ctx.s3.head_object(Bucket=BUCKET, Key="docs/hello.txt")
    expect(r["CopyObjectResult"]["ETag"] == src["ETag"], f"copy ETag {r['CopyObjectResult']['ETag']}")
    a = ctx.s3.get_object(Bucket=BUCKET, Key="docs/copy.txt")["Body"].read()
    b = ctx.s3.get_object(Bucket=BUCKET, Key="docs/hello.txt")["Body"].read()
    expect(a == b, "copy body differs from the source")


@case("boto3 - presigned GET URL via urllib")
def presigned():
    url = ctx.s3.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "docs/hello.txt"}, ExpiresIn=300
    )
    with urllib.request.urlopen(url, timeout=30) as r:
        body = r.read()
        expect(r.status == 200, f"status {r.status}")
    expect(body == b"amber boto3 " * 1000, f"body differs ({len(body)} bytes)")
    bad = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    try:
        urllib.request.urlopen(bad, timeout=30).read()
    except urllib.error.HTTPError as e:
        expect(e.code == 403, f"tampered signature gave {e.code}, expected 403")
        return
    raise AssertionError("tampered presigned URL was accepted")


@case(f"boto3 - delete_objects removes {MANY_KEYS:,} keys")
def delete_many():
    keys = []
    for page in ctx.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        keys += [o["Key"] for o in page.get("Contents", [])]
    deleted = 0
    for i in range(0, len(keys), 1000):
        r = ctx.s3.delete_objects(
            Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]]}
        )
        errors = r.get("Errors") or []
        expect(not errors, f"delete_objects errors: {errors[:3]}")
        deleted += len(r.get("Deleted", []))
    expect(deleted == len(keys), f"deleted {deleted} of {len(keys)}")
    left = ctx.s3.list_objects_v2(Bucket=BUCKET).get("KeyCount")
    expect(left == 0, f"{left} keys left")
    ctx.s3.delete_bucket(Bucket=BUCKET)


@case("boto3 - object_versions.page_size(2).delete() empties a versioned bucket")
def empty_versioned():
    import boto3
    from botocore.config import Config

    bucket = "boto3-versions"
    ctx.s3.create_bucket(Bucket=bucket)
    ctx.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for i in range(5):
        ctx.s3.put_object(Bucket=bucket, Key="k", Body=f"{i}".encode())
        ctx.s3.put_object(Bucket=bucket, Key=f"dir/{i}", Body=b"x")
    # boto3's own way: list a page, delete what it named, list the next page after it.
    resource = boto3.resource(
        "s3",
        endpoint_url=os.environ["AMBER_ENDPOINT"],
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    resource.Bucket(bucket).object_versions.page_size(2).delete()
    left = ctx.s3.list_object_versions(Bucket=bucket)
    expect("Versions" not in left, f"versions left: {left.get('Versions')}")
    ctx.s3.delete_bucket(Bucket=bucket)


def main():
    if "--list" in sys.argv:
        for name, _ in CASES:
            print(name)
        return 0
    import boto3
    from botocore.config import Config

    ctx.work = os.environ["AMBER_WORK_DIR"]
    os.makedirs(ctx.work, exist_ok=True)
    ctx.s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["AMBER_ENDPOINT"],
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1},
        ),
    )
    print(f"boto3 {boto3.__version__} on Python {sys.version.split()[0]}", file=sys.stderr)
    failed = 0
    for name, fn in CASES:
        start = time.monotonic()
        try:
            fn()
            print(f"RESULT\tPASS\t{name}\t{time.monotonic() - start:.1f}", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is a case result
            failed += 1
            mine = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == __file__]
            frame = (mine or traceback.extract_tb(e.__traceback__))[-1]
            reason = f"{type(e).__name__}: {e} (at {os.path.basename(frame.filename)}:{frame.lineno})"
            reason = reason.replace("\t", " ").replace("\n", " | ")
            print(f"RESULT\tFAIL\t{name}\t{time.monotonic() - start:.1f}\t{reason}", flush=True)
            traceback.print_exc(file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
