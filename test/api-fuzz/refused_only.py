"""Schemathesis hooks of the `refused` phase of `npm run fuzz:api`: only requests the API must
refuse are sent, so that the cluster's state afterwards must equal its state before.

In negative mode schemathesis still sends some valid requests: positive fallbacks for
operations with little to violate, and Content-Type probes (a valid JSON body labelled
text/plain or multipart/form-data, which the API reads as JSON: see the closing note of
issue 18). Both are left out here; the valid requests of the phase are the ones sent with
wrong credentials, in runs of their own.
"""
import schemathesis


@schemathesis.hook
def filter_case(context, case):
    meta = case.meta
    if meta is None:
        return False
    if not meta.generation.mode.is_negative:
        return False
    data = getattr(meta.phase, "data", None)
    if getattr(data, "parameter", None) == "Content-Type":
        return False
    return True
