FROM busybox
ENV APP=/srv
WORKDIR $APP_DIR
RUN echo hi
