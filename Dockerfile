# The reconciler controller image: `reconciler run ...` (see deploy/ and docs/operations.md).
# Build: docker build -t reconciler:0.1.0 .
FROM python:3.12-slim

# git runs every fetch as a short-lived process; ssh for ssh:// and git@host: URLs and ssh-keygen for SSH-signed
# commits; gpg for GPG-signed ones (run --verify-signatures / --verify-gpg-keys).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client gnupg ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 reconciler \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin reconciler

WORKDIR /src
COPY pyproject.toml README.md ./
COPY reconciler ./reconciler
RUN pip install --no-cache-dir . && rm -rf /src

USER 10001:10001
ENV HOME=/tmp TMPDIR=/tmp PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
EXPOSE 8080
ENTRYPOINT ["reconciler"]
CMD ["run", "--help"]
