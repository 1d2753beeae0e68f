# modelhost: built with Debian's -dev packages; the runtime image is FROM scratch and holds only the stripped binary,
# the shared libraries ldd lists for it (and the dynamic loader), the CA bundle (fetch, doctor, health over HTTPS), a
# passwd/group entry for uid 10001, config/docker.json and an empty /models. No shell, no package manager.
#
# Why dynamic, not static: Debian ships no static archive of spdlog, and getaddrinfo under static glibc needs the
# NSS modules of the very glibc it was built with at run time anyway. glibc 2.36 has the "files" and "dns" lookups
# built in, so copying libc with its loader is enough for names and addresses.
#
# Every setting can be overridden with MODELHOST_* variables (see `modelhost serve --help`).

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config libboost1.81-dev libboost-url1.81-dev nlohmann-json3-dev \
      libspdlog-dev libfmt-dev libssl-dev zlib1g-dev libbrotli-dev libnghttp2-dev libprotobuf-dev libzip-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake cmake
COPY include include
COPY server server
RUN cmake --preset release && cmake --build --preset release --target modelhost && strip build/release/server/modelhost
COPY docker/runtime-rootfs.sh /usr/local/bin/
COPY config/docker.json /rootfs/etc/modelhost/docker.json
RUN runtime-rootfs.sh build/release/server/modelhost /rootfs

FROM scratch
COPY --from=build /rootfs/ /
COPY --from=build --chown=10001:10001 /rootfs/models /models
ENV PATH=/usr/local/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    MODELHOST_CONFIG=/etc/modelhost/docker.json
VOLUME /models
EXPOSE 8080
USER 10001:10001
HEALTHCHECK --interval=15s --timeout=5s --start-period=5s --retries=3 CMD ["modelhost", "health"]
STOPSIGNAL SIGTERM
LABEL org.opencontainers.image.title="modelhost" \
      org.opencontainers.image.description="Serves TensorFlow.js / MediaPipe model files with correct CORS and HTTP caching" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT"
ENTRYPOINT ["modelhost"]
CMD ["serve"]
