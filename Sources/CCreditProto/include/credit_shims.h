// Hand-written helpers beside the generated code (not produced by protoc-c).
// Swift imports the members of the generated anonymous unions as computed properties, so
// `&msg.pointee.text` in Swift points at a temporary copy; these return the real addresses.
#ifndef CREDIT_SHIMS_H
#define CREDIT_SHIMS_H
#include "credit.pb-c.h"

static inline char **credit_field_value_text_address(Credit__FieldValue *v) { return &v->text; }
static inline char **credit_applicant_row_id_address(Credit__ApplicantRow *r) { return &r->id; }

#endif
