# modelhost: build with Debian's -dev packages, run with only the runtime libraries, as a non-root user.
# Every setting can be overridden with MODELHOST_* variables (see `modelhost serve --help`).

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config libboost1.81-dev libboost-url1.81-dev nlohmann-json3-dev \
      libspdlog-dev libfmt-dev libssl-dev zlib1g-dev libbrotli-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt CMakePresets.json ./
COPY server server
RUN cmake --preset release && cmake --build --preset release && strip build/release/server/modelhost

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libboost-url1.81.0 libspdlog1.10 libfmt9 libssl3 libbrotli1 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin modelhost \
 && mkdir -p /models && chown modelhost:modelhost /models
COPY --from=build /src/build/release/server/modelhost /usr/local/bin/modelhost
COPY config/docker.json /etc/modelhost/docker.json
ENV MODELHOST_CONFIG=/etc/modelhost/docker.json
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
