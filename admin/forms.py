"""Admin console (web layer): sign-in, platform and button forms (each carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, Length, Optional


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField("Username", validators=[DataRequired(), Length(max=150)])
    password = PasswordField("Password", validators=[DataRequired()])
    submit = SubmitField("Sign in")


class PlatformForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Display name", validators=[Optional(), Length(max=200)])
    platform_kind = SelectField(
        "LMS",
        choices=[
            SelectChoice("moodle", "Moodle"),
            SelectChoice("canvas", "Canvas"),
            SelectChoice("workday", "Workday Learning"),
            SelectChoice("other", "Other"),
        ],
    )
    issuer = StringField(
        "Issuer (Platform ID)", validators=[DataRequired(), URL(require_tld=False)]
    )
    client_id = StringField("Client ID", validators=[DataRequired(), Length(max=255)])
    deployment_id = StringField(
        "Deployment ID", validators=[Optional(), Length(max=255)]
    )
    auth_login_url = StringField(
        "Authentication request URL",
        validators=[DataRequired(), URL(require_tld=False)],
    )
    auth_token_url = StringField(
        "Access token URL", validators=[DataRequired(), URL(require_tld=False)]
    )
    key_set_url = StringField(
        "Public keyset URL", validators=[DataRequired(), URL(require_tld=False)]
    )
    unknown_deployment_policy = SelectField(
        "Unknown deployments",
        choices=[
            SelectChoice("reject", "Reject the launch"),
            SelectChoice("auto_register", "Register automatically (Canvas)"),
        ],
    )
    submit = SubmitField("Save platform")


class ActionForm(FlaskForm):  # type: ignore[misc]
    """A bare form for POST-only buttons (rotate key, test an LRS, retry): CSRF only."""

    submit = SubmitField("Confirm")
