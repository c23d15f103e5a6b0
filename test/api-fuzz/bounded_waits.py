"""Schemathesis hooks of the `dangerous` phase of `npm run fuzz:api`: waits a request may ask
for are capped, so that the run cannot sit behind one drain that waits up to two minutes for a
node no other node can take shards from. A valid value within a field's range is lowered to a
value that is still valid; an invalid one (the violation of a negative case) is left as it is,
so a negative case stays negative. A drain without waitMs (30 s by default) gets the cap.
Applied just before each call, so cases of every phase (examples too) pass through it.
"""
import schemathesis

# field: (the route's maximum, the cap)
CAPS = {"waitMs": (120_000, 1_000), "timeoutMs": (60_000, 3_000), "holdMs": (10_000, 1_000)}


def _whole(value):
    if type(value) is int:
        return True
    return type(value) is float and value.is_integer()


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if isinstance(body, dict):
        for key, (maximum, cap) in CAPS.items():
            value = body.get(key)
            if _whole(value) and cap < value <= maximum:
                body[key] = cap
    if case.operation.path == "/nodes/{id}/drain" and case.operation.method.lower() == "post":
        if isinstance(body, dict) and "waitMs" not in body:
            body["waitMs"] = CAPS["waitMs"][1]
        elif not isinstance(body, (dict, list, str, int, float, bool)) and body is not None:
            # No body at all: the route would wait its default 30 s.
            case.body = {"waitMs": CAPS["waitMs"][1]}
            case.media_type = "application/json"
