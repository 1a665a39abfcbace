"""Admin console (web layer): the people directory's import form (CSRF, file upload)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, SubmitField


class PeopleImportForm(FlaskForm):  # type: ignore[misc]
    tenant_id = SelectField("Tenant (LTI deployment)", coerce=int)
    file = FileField("People CSV (UTF-8)", validators=[FileRequired()])
    dry_run = BooleanField("Dry run: check the file and report, write nothing")
    submit = SubmitField("Import people")
