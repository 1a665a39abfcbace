"""Admin console (web layer): the forms of the xAPI pages (LRS connections, evidence rules)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional

from xapi.connections import MAX_PAGE_SIZE
from xapi.models import DEFAULT_PAGE_SIZE


class LrsConnectionForm(FlaskForm):  # type: ignore[misc]
    tenant_id = SelectField("Tenant (LTI deployment)", coerce=int)
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    endpoint = StringField(
        "xAPI endpoint", validators=[DataRequired(), URL(require_tld=False)]
    )
    username = StringField(
        "Key (username)", validators=[DataRequired(), Length(max=300)]
    )
    password = PasswordField("Secret (password)", validators=[DataRequired()])
    actor_mode = SelectField(
        "Name people in the statements Pathwise sends by",
        choices=[
            SelectChoice("account", "LTI account (issuer + sub) - recommended"),
            SelectChoice("mbox", "Email address (mbox)"),
        ],
    )
    match_on = SelectField(
        "Match incoming statements to the people directory on",
        choices=[
            SelectChoice("all", "Every identity: accounts, mbox, mbox_sha1sum"),
            SelectChoice("account", "Accounts only (LMS and other systems)"),
            SelectChoice("email", "Emails only (mbox, mbox_sha1sum)"),
        ],
        default="all",
    )
    home_page_includes_deployment = BooleanField(
        "Add the deployment to account.homePage (one LMS issuer, several tenants)"
    )
    home_page_override = StringField(
        "Explicit account.homePage (optional)",
        validators=[Optional(), URL(require_tld=False)],
    )
    sync_enabled = BooleanField("Read evidence from this LRS", default=True)
    send_statements = BooleanField("Send Pathwise statements here", default=True)
    page_size = IntegerField(
        "Page size",
        default=DEFAULT_PAGE_SIZE,
        validators=[NumberRange(min=1, max=MAX_PAGE_SIZE)],
    )
    xapi_version = SelectField(
        "xAPI version",
        choices=[
            SelectChoice("", "Detect from the LRS's /about (1.0.3 when it has none)"),
            SelectChoice("1.0.3", "1.0.3"),
            SelectChoice("2.0.0", "2.0.0"),
        ],
        default="",
    )
    submit = SubmitField("Add connection")


class RulesForm(FlaskForm):  # type: ignore[misc]
    tenant_id = SelectField("Tenant", coerce=int)
    document = TextAreaField("Rules (JSON)", validators=[DataRequired()])
    submit = SubmitField("Save rules")
