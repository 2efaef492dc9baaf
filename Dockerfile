# cidrotor: multi-stage build on Debian 12. The runtime image holds the binary, the shared
# libraries it links (collected with ldd, so the list never drifts from the build; copied flat
# into /usr/lib/<multiarch>: /lib is a symlink in debian:12-slim, which a COPY of a /lib
# directory breaks; libc, libstdc++ and the like come with the slim image) and tzdata;
# it runs as an unprivileged user with its data under /var/lib/cidrotor (a volume).
#   docker build -t cidrotor .
#   docker run -p 127.0.0.1:8000:8000 -p 127.0.0.1:4573:4573 -e ADMIN_TOKEN=... cidrotor

FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      cmake ninja-build g++ pkg-config \
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
      libexpected-dev libhowardhinnant-date-dev libsqlite3-dev \
      libspdlog-dev libfmt-dev libcli11-dev tzdata libjwt-dev nodejs npm \
      libpq-dev libhiredis-dev libssl-dev python3-phonenumbers \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake ./cmake
COPY scripts ./scripts
COPY docs ./docs
COPY web/package.json web/package-lock.json ./web/
COPY web/src ./web/src
COPY src ./src
COPY tests ./tests
COPY bench ./bench
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
      -DCIDROTOR_BUILD_BENCH=OFF \
 && cmake --build build --target cidrotor \
 && strip build/cidrotor \
 && lib=/runtime/usr/lib/$(gcc -print-multiarch) \
 && mkdir -p "$lib" \
 && ldd build/cidrotor | awk '/=> \// { print $3 }' \
    | grep -vE '/(libc|libm|libgcc_s|libstdc\+\+|libpthread|libdl|librt|libresolv)\.so' \
    | xargs -r cp -L -t "$lib"

FROM debian:12-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tzdata ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system cidrotor \
 && useradd --system --gid cidrotor --home-dir /var/lib/cidrotor --shell /usr/sbin/nologin cidrotor \
 && mkdir -p /var/lib/cidrotor \
 && chown cidrotor:cidrotor /var/lib/cidrotor
COPY --from=build /runtime/ /
COPY --from=build /src/build/cidrotor /usr/local/bin/cidrotor
# Inside a container the API must listen on all interfaces to be published; a non-loopback
# API_HOST requires ADMIN_TOKEN (cidrotor refuses to start without it). Publish the ports on
# 127.0.0.1 only (docker-compose.yml does).
ENV API_HOST=0.0.0.0 \
    API_PORT=8000 \
    AGI_PORT=4573 \
    CIDROTOR_DATA_DIR=/var/lib/cidrotor \
    TIMEZONE=UTC
USER cidrotor
WORKDIR /var/lib/cidrotor
VOLUME ["/var/lib/cidrotor"]
EXPOSE 8000 4573
# No curl in the slim image: bash's /dev/tcp asks GET /health (200 "healthy"/"degraded").
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${API_PORT} && printf 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/cidrotor"]
CMD ["serve"]
