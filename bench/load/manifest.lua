-- wrk script: GET or HEAD (WRK_METHOD) a manifest by tag with an OCI/Docker Accept header.
wrk.method = os.getenv("WRK_METHOD") or "GET"
wrk.headers["Accept"] = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
