"""Web forms (Flask-WTF: CSRF on every state change). Rules live in the services, not here."""
from __future__ import annotations

import secrets

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from qa.errors import ServiceError
from qa.models import RATING_CRITERIA


def new_submission_key() -> str:
    """A fresh one-time key for a posting form (qa/services/submissions.py)."""
    return secrets.token_urlsafe(16)


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class BaseForm(FlaskForm):
    """Every form: WTForms' own messages in Chinese."""

    class Meta:
        locales = ["zh"]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def form_error(form: FlaskForm, error: ServiceError) -> int:
    """A service refused a form: 403 goes to the error page; otherwise undo the unit of work,
    show the message on the form and return the HTTP status to render it with."""
    if error.status == 403:
        raise error
    from qa.extensions import db

    db.session.rollback()
    attach_error(form, error)
    return error.status


def attach_error(form: FlaskForm, error: ServiceError) -> None:
    """Show a service error next to its field, or at the top of the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = list(field.errors or []) + [error.message]
    else:
        form.form_errors.append(error.message)


class LoginForm(BaseForm):
    username = StringField("用户名", validators=[InputRequired("请填写用户名。")])
    password = PasswordField("密码", validators=[InputRequired("请填写密码。")])
    submit = SubmitField("登录")


class AskForm(BaseForm):
    title = StringField("标题", description="一句话概括要咨询的法律问题，不超过 120 字。")
    body = TextAreaField("问题内容", description="支持 Markdown。请写明涉及的法律条文和争议所在，不要写当事人真实姓名。")
    category = SelectField("业务条线", choices=[], validate_choice=False)  # the service checks it
    tags = StringField("标签", description="最多 5 个，用逗号或空格分隔，如：醉驾, 血液酒精含量")
    case_deadline = DateField("办案期限（可选）", validators=[Optional()],
                              description="如案件有办案期限，答复将至少提前 3 天送达。")
    law_not_facts = BooleanField("本问题属于法律适用、程序或政策问题，不涉及具体案件的事实认定")
    not_classified = BooleanField("本问题不含涉密信息")
    submission_key = HiddenField(default=new_submission_key)  # one question per form, however often sent
    submit = SubmitField("提交问题")


class AnswerForm(BaseForm):
    body = TextAreaField("答复内容", description="支持 Markdown。请引用所依据的法律条文。")
    submission_key = HiddenField(default=new_submission_key)
    submit = SubmitField("提交答复")


class SupplementForm(BaseForm):
    body = TextAreaField("补充说明")
    submission_key = HiddenField(default=new_submission_key)
    submit = SubmitField("提交补充说明")


class AcceptForm(BaseForm):
    answer_id = HiddenField()
    submit = SubmitField("采纳此答复")


SCORE_CHOICES = choices((str(i), str(i)) for i in range(1, 6))


class RatingForm(BaseForm):
    accuracy = RadioField(RATING_CRITERIA["accuracy"] + "（法律适用是否正确）", choices=SCORE_CHOICES)
    basis = RadioField(RATING_CRITERIA["basis"] + "（是否引用法律依据）", choices=SCORE_CHOICES)
    relevance = RadioField(RATING_CRITERIA["relevance"] + "（是否回答了所问）", choices=SCORE_CHOICES)
    clarity = RadioField(RATING_CRITERIA["clarity"] + "（表述是否清楚规范）", choices=SCORE_CHOICES)
    comment = TextAreaField("评语", description="任一项评分为 2 分及以下时必填。")
    submit = SubmitField("提交评定")


class CanonicalForm(BaseForm):
    text = TextAreaField("权威答复文本", description="可在原答复基础上编辑整理；支持 Markdown。")
    effective_date = DateField("生效日期（可选）", validators=[Optional()])
    submit = SubmitField("列为权威答复")


class AssignForm(BaseForm):
    expert = SelectField("答疑专家", choices=[])
    submit = SubmitField("分派")


class UserForm(BaseForm):
    username = StringField("用户名")
    name = StringField("姓名")
    org_code = StringField("所在单位代码", description="如 110105。")
    roles = MultiCheckboxField("角色（所有用户均可提问）", choices=[])
    specialities = MultiCheckboxField("专业领域（答疑专家）", choices=[])
    active = BooleanField("账号启用", default=True)
    password = PasswordField("初始密码（可选，至少 8 位）")
    submit = SubmitField("保存")


class TokenForm(BaseForm):
    name = StringField("令牌名称", description="例如：案件管理系统对接")
    submit = SubmitField("创建令牌")


class RevokeTokenForm(BaseForm):
    token_id = IntegerField()
    submit = SubmitField("撤销")


class PasswordChangeForm(BaseForm):
    current_password = PasswordField("当前密码")
    new_password = PasswordField("新密码（至少 8 位）")
    confirm = PasswordField("再次输入新密码")
    submit = SubmitField("修改密码")


class PasswordConfirmForm(BaseForm):
    password = PasswordField("当前密码", validators=[InputRequired("请填写密码。")])
    submit = SubmitField("确认")


class ConfirmForm(BaseForm):
    """A bare form for POST buttons (CSRF token only)."""

    submit = SubmitField("确定")
