FROM busybox
MAINTAINER someone@example.com
RUN echo hi
