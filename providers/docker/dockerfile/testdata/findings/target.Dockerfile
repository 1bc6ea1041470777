FROM busybox AS deps
RUN echo deps
FROM busybox AS app
COPY --from=deps /x /x
