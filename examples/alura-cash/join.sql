-- The shared loan book as one row per loan: ids joined (inner) to borrowers, loans and
-- bureau history. An empty id matches nothing (NULLIF(...,'') turns it into NULL).
SELECT
    e.loan_id,
    d.person_age,
    d.person_income,
    d.person_home_ownership,
    d.person_emp_length,
    e.loan_intent,
    e.loan_grade,
    e.loan_amnt,
    e.loan_int_rate,
    e.loan_status,
    e.loan_percent_income,
    h.cb_person_default_on_file,
    h.cb_person_cred_hist_length
FROM ids AS i
JOIN dados_mutuarios AS d ON d.person_id = NULLIF(i.person_id, '')
JOIN emprestimos AS e ON e.loan_id = NULLIF(i.loan_id, '')
JOIN historicos_banco AS h ON h.cb_id = NULLIF(i.cb_id, '')
ORDER BY e.loan_id
